import { tooManyRequests } from '../errors.js';
import type { WindowCounter } from './window-counter.js';

export interface LoginThrottlePolicy {
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
}

/** The same answer for every throttled login: it says nothing about whether the account exists. */
export const tooManyAttempts = (retryAfterSeconds: number) =>
  tooManyRequests(retryAfterSeconds, 'too many failed sign-in attempts; retry later');

/** A sign-in attempt holding its slots; a failed one simply keeps them. */
export interface LoginAttempt {
  /** The password was right: the account's count starts over, and the address gets its slot back. */
  succeeded(): Promise<void>;
}

/**
 * Failed sign-ins counted per account and per client IP (OWASP Authentication Cheat Sheet). Each
 * attempt takes its slots atomically before any password is hashed, so a burst of parallel
 * attempts lets at most the limit through to the hasher; the rest get 429 and their slots back.
 * The account is named by `accountKey` (see users/sign-in.ts): one key per account, whatever form
 * of its name was typed, and one per unknown login, so an unknown account is throttled exactly like
 * a real one and the 429 reveals nothing.
 */
export function createLoginThrottle(counter: WindowCounter, policy: LoginThrottlePolicy, onThrottled: () => void = () => {}) {
  const ipKey = (ip: string | undefined) => `ip:${ip ?? 'unknown'}`;

  return {
    /** Counts the attempt; throws 429 (counting nothing) when either limit is already reached. */
    async begin(accountKey: string, ip: string | undefined): Promise<LoginAttempt> {
      const keys = [`account:${accountKey}`, ipKey(ip)] as const;
      const limits = [policy.maxFailuresPerAccount, policy.maxFailuresPerIp];
      const tallies = await Promise.all(keys.map((key) => counter.take(key)));
      const over = tallies.filter((tally, i) => tally.count > limits[i]!);
      if (over.length > 0) {
        await Promise.all(keys.map((key) => counter.giveBack(key)));
        onThrottled();
        throw tooManyAttempts(Math.max(...over.map((tally) => tally.retryAfterSeconds)));
      }
      return {
        succeeded: async () => {
          await Promise.all([counter.reset(keys[0]), counter.giveBack(keys[1])]);
        },
      };
    },
    /** A new password (reset) may be used at once: the account's count starts over. */
    async clear(accountKey: string): Promise<void> {
      await counter.reset(`account:${accountKey}`);
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
