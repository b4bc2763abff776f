import { Hono, type MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Metrics } from '../metrics/metrics.js';
import type { AppEnv } from './app-env.js';

/** Times every request, labelled by the route pattern (never the raw path: bounded cardinality). */
export function measureRequests(metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async function measure(c, next) {
    const stop = metrics.httpRequests.startTimer();
    await next();
    const route = matchedRoutes(c).findLast((match) => match.method !== 'ALL')?.path ?? 'unmatched';
    stop({ method: c.req.method, route, status: String(c.res.status) });
  };
}

/** GET /metrics in the Prometheus text format. */
export function metricsRoutes(metrics: Metrics): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/metrics', async function scrape(c) {
    return c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType });
  });
  return routes;
}
