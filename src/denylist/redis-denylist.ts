import type { Logger } from 'pino';
import { DependencyUnavailableError } from '../errors.js';
import { randomBytes } from 'node:crypto';
import {
  createDenylistMirror,
  denylistChannel,
  denylistKey,
  DENYLIST_COMPLETE_MEMBER,
  DENYLIST_REFILLED_NOTICE,
  type DenylistMirror,
  type RedisClient,
} from '@token-issuer/verifier';
import { EXPIRY_GRACE_SECONDS, stillLive, systemEpochSeconds, toWire, type Denylist, type EpochClock } from './denylist.js';

/** Entries per write while refilling. */
const REFILL_BATCH = 1000;
/** A refill's own mark lives this long at most (a refill that died leaves it behind). */
const REFILL_MARK_SECONDS = 3600;
/** How long a check waits for this process's copy to load at first, before answering 503. */
const FIRST_LOAD_WAIT_MS = 2000;

/**
 * Marks the set complete if this refill's mark survived (Redis did not lose its data while the
 * refill ran), or if another refill on this same data already did. 1 when the set is complete.
 */
const FINISH_REFILL = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], 'inf', ARGV[2])
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 1 end
return 0`;

/**
 * The shared denylist: the layout of verifier/denylist-mirror.ts (one sorted set pruned of expired
 * members on every write, a completeness mark in it, and a channel for additions). One key means no
 * cross-slot operation, so the layout holds on Redis Cluster as on a single Redis.
 *
 * A token id is checked in Redis itself, so a revocation holds at once on every instance. Cut-offs
 * are checked in this process's own copy (the set cannot be searched by subject or client), which
 * learns this process's writes at once and the others' by push, within milliseconds; while the
 * copy is not current, checks answer 503 rather than guess.
 */
export function createRedisDenylist(options: { redis: RedisClient; keyPrefix: string; logger: Logger; now?: EpochClock }): Denylist {
  const { redis, logger } = options;
  const now = options.now ?? systemEpochSeconds;
  const key = denylistKey(options.keyPrefix);
  const mirrors = new Set<DenylistMirror>();
  const unavailable = (error: unknown) => new DependencyUnavailableError('redis', { cause: error });
  const own = createDenylistMirror({
    redis,
    prefix: options.keyPrefix,
    now,
    onError: (error) => logger.debug({ err: error }, 'denylist copy: redis error'),
  });

  const denylist: Denylist = {
    async add(entries) {
      const live = entries.filter((entry) => stillLive(entry.expiresAt, now()));
      if (live.length === 0) return;
      const wire = live.map(toWire);
      try {
        await redis
          .multi()
          .zadd(key, ...wire.flatMap(({ jti, expiresAt }) => [expiresAt, jti]))
          .zremrangebyscore(key, '-inf', now() - EXPIRY_GRACE_SECONDS)
          .publish(denylistChannel(options.keyPrefix), JSON.stringify(wire))
          .exec();
      } catch (error) {
        throw unavailable(error);
      }
      own.add(live);
    },

    async refusal(token) {
      if (own.staleness() === Number.POSITIVE_INFINITY) {
        await Promise.race([own.ready, new Promise((resolve) => setTimeout(resolve, FIRST_LOAD_WAIT_MS).unref())]);
      }
      if (own.staleness() > 0) throw unavailable(new Error("this instance's copy of the denylist is not current"));
      return own.refusal(token) ?? ((await denylist.isRevoked(token.jti)) ? 'revoked' : undefined);
    },

    latestCutoff: (token) => own.latestCutoff(token),

    async isRevoked(jti) {
      let scores: (string | null)[];
      try {
        scores = await redis.zmscore(key, jti, DENYLIST_COMPLETE_MEMBER);
      } catch (error) {
        throw unavailable(error);
      }
      const [score, complete] = scores;
      if (score !== null && score !== undefined && stillLive(Number(score), now())) return true;
      // Not there, in a set not known complete: it might be revoked. Never say it is not.
      if (complete === null || complete === undefined) throw unavailable(new Error('the denylist is being refilled'));
      return false;
    },

    async refill(entries) {
      const mark = `:refilling:${randomBytes(8).toString('hex')}`;
      try {
        await redis.zadd(key, now() + REFILL_MARK_SECONDS, mark);
        for (let start = 0; start < entries.length; start += REFILL_BATCH) await denylist.add(entries.slice(start, start + REFILL_BATCH));
        const complete = await redis.eval(FINISH_REFILL, 1, key, mark, DENYLIST_COMPLETE_MEMBER);
        if (complete !== 1) throw new Error('Redis lost its data while the denylist was refilled');
        await redis.publish(denylistChannel(options.keyPrefix), DENYLIST_REFILLED_NOTICE);
      } catch (error) {
        throw error instanceof DependencyUnavailableError ? error : unavailable(error);
      }
    },

    async isComplete() {
      try {
        return (await redis.zscore(key, DENYLIST_COMPLETE_MEMBER)) !== null;
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
        refusal: mirror.refusal,
        size: mirror.size,
        staleness: mirror.staleness,
        close: async () => {
          mirrors.delete(mirror);
          await mirror.close();
        },
      };
    },

    async close() {
      await Promise.all([own, ...mirrors].map((mirror) => mirror.close()));
    },
  };
  return denylist;
}
