import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * One Redis connection that fails fast while Redis is away (no offline queue), so callers and
 * readiness see the outage at once instead of hanging, and reconnects on its own.
 */
export function connectRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let healthy = true;
  redis.on('ready', () => {
    if (!healthy) logger.info('redis connection restored');
    healthy = true;
  });
  redis.on('error', (error: Error) => {
    // Logged once per outage, not on every reconnect attempt.
    if (healthy) logger.warn({ err: { message: error.message } }, 'redis unavailable; reconnecting');
    healthy = false;
  });
  return redis;
}
