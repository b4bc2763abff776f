import type { Logger } from 'pino';
import { dependencyOf, describeOutage } from './outage.js';
import { outsideRequest } from './request-deadline.js';

/**
 * What an outage writes to the log: one warn line when a dependency goes away (which, and the first
 * error in one line), one info line when it is back (how long, how many requests were refused), and
 * each refused request at debug. At a thousand requests a second an operator reading the log during
 * an outage sees two lines, not megabytes of stacks; the metrics still count every refusal.
 */
export interface OutageLog {
  /** A request answered 503 because of `error` (an outage, see outage.ts). */
  refused(error: unknown, requestLogger?: Logger): void;
  stop(): void;
}

export interface OutageLogOptions {
  logger: Logger;
  /** How to tell a dependency is back (database: a ping; redis: its connection). Others are back after a quiet spell. */
  probes: Readonly<Record<string, () => Promise<boolean>>>;
  /** Counts every refusal, by dependency (metrics). */
  onRefused?: (dependency: string) => void;
  probeIntervalMs?: number;
  /** A dependency without a probe is called back after this long without a refusal. */
  quietMs?: number;
  now?: () => number;
}

interface Outage {
  since: number;
  lastRefusal: number;
  refused: number;
}

export function createOutageLog(options: OutageLogOptions): OutageLog {
  const { logger, probes } = options;
  const now = options.now ?? Date.now;
  const quietMs = options.quietMs ?? 10_000;
  const outages = new Map<string, Outage>();
  let timer: NodeJS.Timeout | undefined;
  let checking = false;

  function back(dependency: string, outage: Outage) {
    outages.delete(dependency);
    logger.info(
      { dependency, outageSeconds: Math.round((now() - outage.since) / 100) / 10, refusedRequests: outage.refused },
      `${dependency} is back`,
    );
  }

  async function check() {
    if (checking) return;
    checking = true;
    try {
      for (const [dependency, outage] of outages) {
        const probe = probes[dependency];
        const isBack = probe ? await probe().catch(() => false) : now() - outage.lastRefusal >= quietMs;
        if (isBack) back(dependency, outage);
      }
    } finally {
      checking = false;
      if (outages.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    }
  }

  return {
    refused(error, requestLogger) {
      const dependency = dependencyOf(error);
      options.onRefused?.(dependency);
      const cause = describeOutage(error);
      (requestLogger ?? logger).debug({ dependency, cause }, 'dependency unavailable: answered 503');
      const outage = outages.get(dependency);
      if (outage) {
        outage.refused += 1;
        outage.lastRefusal = now();
        return;
      }
      outages.set(dependency, { since: now(), lastRefusal: now(), refused: 1 });
      logger.warn({ dependency, cause }, `${dependency} is unavailable: requests that need it are answered 503 until it is back`);
      // Not in this request's life (request-deadline.ts): the probes outlast it.
      timer ??= outsideRequest(() => setInterval(() => void check(), options.probeIntervalMs ?? 1000));
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
