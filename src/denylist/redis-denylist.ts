import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DependencyUnavailableError } from '../errors.js';
import { createDenylistMirror, denylistChannel, denylistKey, type DenylistMirror } from '../verifier/denylist-mirror.js';
import { systemEpochSeconds, type Denylist, type EpochClock } from './denylist.js';

/**
 * The shared denylist: the layout of verifier/denylist-mirror.ts (one sorted set pruned of expired
 * members on every write, and a channel for additions). One key means no cross-slot operation, so
 * the layout holds on Redis Cluster as on a single Redis.
 */
export function createRedisDenylist(options: {
  redis: Redis;
  keyPrefix: string;
  logger: Logger;
  now?: EpochClock;
}): Denylist {
  const { redis, logger } = options;
  const now = options.now ?? systemEpochSeconds;
  const key = denylistKey(options.keyPrefix);
  const mirrors = new Set<DenylistMirror>();
  const unavailable = (error: unknown) => new DependencyUnavailableError('redis', { cause: error });

  return {
    async add(entries) {
      const live = entries.filter((entry) => entry.expiresAt > now());
      if (live.length === 0) return;
      try {
        await redis
          .multi()
          .zadd(key, ...live.flatMap(({ jti, expiresAt }) => [expiresAt, jti]))
          .zremrangebyscore(key, '-inf', now())
          .publish(denylistChannel(options.keyPrefix), JSON.stringify(live))
          .exec();
      } catch (error) {
        throw unavailable(error);
      }
    },

    async isRevoked(jti) {
      try {
        const score = await redis.zscore(key, jti);
        return score !== null && Number(score) > now();
      } catch (error) {
        throw unavailable(error);
      }
    },

    async mirror() {
      const mirror = createDenylistMirror({
        redis,
        prefix: options.keyPrefix,
        now,
        onError: (error) => logger.debug({ err: error }, 'denylist mirror: redis error'),
      });
      await mirror.ready;
      mirrors.add(mirror);
      return {
        has: mirror.has,
        size: mirror.size,
        staleness: mirror.staleness,
        close: async () => {
          mirrors.delete(mirror);
          await mirror.close();
        },
      };
    },

    async close() {
      await Promise.all([...mirrors].map((mirror) => mirror.close()));
    },
  };
}
