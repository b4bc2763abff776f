import { Hono, type MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { NO_STORE } from '../no-store.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface Lifecycle {
  /** Set on SIGTERM: readiness turns 503 at once so load balancers stop sending traffic. */
  draining: boolean;
}

/**
 * While draining, every answer says `Connection: close` (RFC 9112 §9.6), so a client on a
 * keep-alive connection opens its next one elsewhere; otherwise steady clients would keep this
 * instance's connections busy until the drain's hard timeout.
 */
export function closeConnectionsWhenDraining(lifecycle: Lifecycle): MiddlewareHandler<AppEnv> {
  return async function closeConnectionWhenDraining(c, next) {
    await next();
    if (lifecycle.draining) c.header('Connection', 'close');
  };
}

const CHECK_TIMEOUT_MS = 2000;

/** /healthz says the process runs (no dependency checks); /readyz says it can serve. */
export function healthRoutes(options: { checks: ReadinessCheck[]; lifecycle: Lifecycle }): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get('/healthz', function liveness(c) {
    return c.json({ status: 'ok' }, 200, NO_STORE);
  });

  routes.get('/readyz', async function readiness(c) {
    if (options.lifecycle.draining) return c.json({ status: 'draining' }, 503, NO_STORE);
    const results = await Promise.all(
      options.checks.map(async ({ name, check }) => [name, (await passes(check)) ? 'ok' : 'unavailable'] as const),
    );
    const ready = results.every(([, state]) => state === 'ok');
    const body = { status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(results) };
    return c.json(body, ready ? 200 : 503, NO_STORE);
  });

  return routes;
}

async function passes(check: () => Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
