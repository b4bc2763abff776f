import type { Redis } from 'ioredis';
import { DependencyUnavailableError } from '../errors.js';

/**
 * Counts failures per key in fixed windows: the first failure opens a window of `windowSeconds`,
 * and the count expires with it. Redis when configured (shared by every instance), in-process
 * otherwise.
 */
export interface FailureCounter {
  /** Failures recorded in the current window, and seconds until it closes (0 when none). */
  peek(key: string): Promise<{ failures: number; retryAfterSeconds: number }>;
  record(key: string): Promise<void>;
  reset(key: string): Promise<void>;
}

export function createMemoryFailureCounter(windowSeconds: number, now: () => number = Date.now): FailureCounter {
  const windows = new Map<string, { failures: number; endsAt: number }>();
  const live = (key: string) => {
    const window = windows.get(key);
    if (window && window.endsAt <= now()) windows.delete(key);
    return windows.get(key);
  };
  return {
    async peek(key) {
      const window = live(key);
      return window ? { failures: window.failures, retryAfterSeconds: Math.ceil((window.endsAt - now()) / 1000) } : { failures: 0, retryAfterSeconds: 0 };
    },
    async record(key) {
      const window = live(key);
      if (window) window.failures += 1;
      else windows.set(key, { failures: 1, endsAt: now() + windowSeconds * 1000 });
      if (windows.size > 100_000) for (const stale of windows.keys()) if (!live(stale)) windows.delete(stale);
    },
    async reset(key) {
      windows.delete(key);
    },
  };
}

/** One key per counted thing (`<prefix>failures:<key>`): single-key commands, valid on Redis Cluster. */
export function createRedisFailureCounter(redis: Redis, prefix: string, windowSeconds: number): FailureCounter {
  const keyOf = (key: string) => `${prefix}failures:${key}`;
  const guard = async <T>(run: () => Promise<T>) => {
    try {
      return await run();
    } catch (error) {
      throw new DependencyUnavailableError('redis', { cause: error });
    }
  };
  return {
    peek: (key) =>
      guard(async () => {
        const [[, failures], [, ttl]] = (await redis.multi().get(keyOf(key)).ttl(keyOf(key)).exec()) as [[null, string | null], [null, number]];
        return { failures: Number(failures ?? 0), retryAfterSeconds: Math.max(0, ttl) };
      }),
    record: (key) =>
      guard(async () => {
        // EXPIRE NX: only the first failure opens the window.
        await redis.multi().incr(keyOf(key)).expire(keyOf(key), windowSeconds, 'NX').exec();
      }),
    reset: (key) =>
      guard(async () => {
        await redis.del(keyOf(key));
      }),
  };
}
