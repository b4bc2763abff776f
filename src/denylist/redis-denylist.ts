import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DependencyUnavailableError } from '../errors.js';
import { ExpiringSet, systemEpochSeconds, type Denylist, type DenylistEntry, type EpochClock } from './denylist.js';

/**
 * The shared denylist. Layout: one sorted set `<prefix>denylist` (member jti, score exp), pruned
 * of expired members on every write, and the channel `<prefix>denylist:added`, on which every
 * addition is published. One key means no cross-slot operation, so the layout holds on Redis
 * Cluster as on a single Redis.
 */
export function createRedisDenylist(options: {
  redis: Redis;
  keyPrefix: string;
  logger: Logger;
  now?: EpochClock;
}): Denylist {
  const { redis, logger } = options;
  const now = options.now ?? systemEpochSeconds;
  const key = `${options.keyPrefix}denylist`;
  const channel = `${options.keyPrefix}denylist:added`;
  const mirrors = new Set<{ close(): Promise<void> }>();

  const unavailable = (error: unknown) => new DependencyUnavailableError('redis', { cause: error });

  async function loadAll(): Promise<DenylistEntry[]> {
    const flat = await redis.zrangebyscore(key, `(${now()}`, '+inf', 'WITHSCORES');
    const entries: DenylistEntry[] = [];
    for (let i = 0; i < flat.length; i += 2) entries.push({ jti: flat[i]!, expiresAt: Number(flat[i + 1]) });
    return entries;
  }

  return {
    async add(entries) {
      const live = entries.filter((entry) => entry.expiresAt > now());
      if (live.length === 0) return;
      try {
        await redis
          .multi()
          .zadd(key, ...live.flatMap(({ jti, expiresAt }) => [expiresAt, jti]))
          .zremrangebyscore(key, '-inf', now())
          .publish(channel, JSON.stringify(live))
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
      const local = new ExpiringSet(now);
      const subscriber = redis.duplicate({ enableOfflineQueue: true, connectionName: `${options.keyPrefix}denylist-mirror` });
      subscriber.on('error', () => {}); // reconnects on its own; the reload below catches it up
      subscriber.on('message', (from: string, message: string) => {
        if (from !== channel) return;
        try {
          local.addAll(JSON.parse(message) as DenylistEntry[]);
        } catch {
          logger.warn('ignored a malformed denylist message');
        }
      });
      // Subscribe first, then load: anything added in between arrives either way. After every
      // reconnect (ioredis subscribes again by itself) the whole set is read again, so nothing
      // published while the connection was down is missed.
      const reload = () =>
        loadAll().then(
          (entries) => local.addAll(entries),
          (error: unknown) => logger.warn({ err: error }, 'could not reload the denylist; will retry on reconnect'),
        );
      await subscriber.subscribe(channel);
      await reload();
      let connected = true;
      subscriber.on('close', () => (connected = false));
      subscriber.on('ready', () => {
        if (!connected) void reload();
        connected = true;
      });
      const pruner = setInterval(() => local.prune(), 60_000);
      pruner.unref();
      const mirror = {
        has: (jti: string) => local.has(jti),
        size: () => local.size(),
        close: async () => {
          clearInterval(pruner);
          mirrors.delete(mirror);
          subscriber.disconnect();
        },
      };
      mirrors.add(mirror);
      return mirror;
    },

    async close() {
      await Promise.all([...mirrors].map((mirror) => mirror.close()));
    },
  };
}
