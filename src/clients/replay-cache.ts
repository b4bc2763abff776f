import type { RedisClient } from '@token-issuer/verifier';
import { DependencyUnavailableError } from '../errors.js';
import type { ReplayCache } from './client-assertion.js';

/** One instance's memory (the embedded mode): each key until its time is up. */
export function createMemoryReplayCache(now: () => number = Date.now): ReplayCache {
  const seen = new Map<string, number>();
  return {
    async claim(key, ttlSeconds) {
      const at = now();
      for (const [known, until] of seen) if (until <= at) seen.delete(known);
      if (seen.has(key)) return false;
      seen.set(key, at + ttlSeconds * 1000);
      return true;
    },
  };
}

/**
 * Shared by every instance through Redis (SET NX with an expiry: one key per assertion), so an
 * assertion used at one instance is refused at every other. Without Redis it cannot tell, and says
 * so (503) rather than accept a possible replay.
 */
export function createRedisReplayCache(redis: RedisClient, keyPrefix: string): ReplayCache {
  return {
    async claim(key, ttlSeconds) {
      try {
        return (await redis.set(`${keyPrefix}assertion:${key}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
      } catch (error) {
        throw new DependencyUnavailableError('redis', { cause: error });
      }
    },
  };
}
