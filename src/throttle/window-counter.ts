import type { RedisClient } from '@token-issuer/verifier';
import { DependencyUnavailableError } from '../errors.js';

/** What a counter says after counting one more attempt. */
export interface Tally {
  /** Attempts in the current window, this one included. */
  count: number;
  /** Seconds until the window closes. */
  retryAfterSeconds: number;
}

/**
 * Counts attempts per key in fixed windows: the first attempt opens a window of `windowSeconds`,
 * and the count expires with it. Counting and reading are one atomic step (`take`), so a burst of
 * parallel requests cannot all read "under the limit" before any of them counts (OWASP ASVS 5
 * §2.4: limits that hold under concurrency). Redis when configured (shared by every instance),
 * in-process otherwise.
 */
export interface WindowCounter {
  /** Counts one attempt and answers the count, atomically. */
  take(key: string): Promise<Tally>;
  /** Gives one attempt back (an attempt that turned out not to count), never below zero. */
  giveBack(key: string): Promise<void>;
  reset(key: string): Promise<void>;
}

export function createMemoryWindowCounter(windowSeconds: number, now: () => number = Date.now): WindowCounter {
  const windows = new Map<string, { count: number; endsAt: number }>();
  const live = (key: string) => {
    const window = windows.get(key);
    if (window && window.endsAt <= now()) windows.delete(key);
    return windows.get(key);
  };
  return {
    // Synchronous inside: nothing else runs between the read and the increment.
    async take(key) {
      let window = live(key);
      if (window) window.count += 1;
      else windows.set(key, (window = { count: 1, endsAt: now() + windowSeconds * 1000 }));
      if (windows.size > 100_000) for (const stale of windows.keys()) live(stale);
      return { count: window.count, retryAfterSeconds: Math.max(1, Math.ceil((window.endsAt - now()) / 1000)) };
    },
    async giveBack(key) {
      const window = live(key);
      if (window && window.count > 0) window.count -= 1;
    },
    async reset(key) {
      windows.delete(key);
    },
  };
}

/**
 * One key per counted thing (`<prefix>failures:<key>`): single-key commands, valid on Redis
 * Cluster. `take` is INCR, EXPIRE NX (only the first attempt opens the window) and TTL in one
 * MULTI: atomic on the server.
 */
export function createRedisWindowCounter(redis: RedisClient, prefix: string, windowSeconds: number): WindowCounter {
  const keyOf = (key: string) => `${prefix}failures:${key}`;
  const guard = async <T>(run: () => Promise<T>) => {
    try {
      return await run();
    } catch (error) {
      throw new DependencyUnavailableError('redis', { cause: error });
    }
  };
  return {
    take: (key) =>
      guard(async () => {
        const replies = (await redis.multi().incr(keyOf(key)).expire(keyOf(key), windowSeconds, 'NX').ttl(keyOf(key)).exec()) ?? [];
        const failed = replies.find(([error]) => error);
        if (failed || replies.length !== 3) throw failed?.[0] ?? new Error('the counter transaction was discarded');
        return { count: Number(replies[0]![1]), retryAfterSeconds: Math.max(1, Number(replies[2]![1])) };
      }),
    giveBack: (key) =>
      guard(async () => {
        // Never below zero, and never on a key whose window has closed (it would open one with no TTL).
        await redis.eval(GIVE_BACK, 1, keyOf(key));
      }),
    reset: (key) =>
      guard(async () => {
        await redis.del(keyOf(key));
      }),
  };
}

const GIVE_BACK = `if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end return 0`;

/**
 * Counts in `shared` (Redis), and in `local` (this instance) whenever `shared` cannot answer: users
 * can still sign in while Redis is down, with the limits still applied, per instance. Each attempt
 * counted locally is reported (`onLocal`), so an operator sees the fallback in the metrics; the
 * caller logs it once per outage.
 */
export function withLocalFallback(shared: WindowCounter, local: WindowCounter, onLocal: (error: unknown) => void): WindowCounter {
  const either =
    <T>(operation: (counter: WindowCounter) => Promise<T>) =>
    async (): Promise<T> => {
      try {
        return await operation(shared);
      } catch (error) {
        if (!(error instanceof DependencyUnavailableError)) throw error;
        onLocal(error);
        return operation(local);
      }
    };
  return {
    take: (key) => either((counter) => counter.take(key))(),
    giveBack: (key) => either((counter) => counter.giveBack(key))(),
    reset: (key) => either((counter) => counter.reset(key))(),
  };
}
