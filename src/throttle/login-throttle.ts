import { ApiError } from '../errors.js';
import type { FailureCounter } from './failure-counter.js';

export interface LoginThrottlePolicy {
  maxFailuresPerAccount: number;
  maxFailuresPerIp: number;
}

/** The same answer for every throttled login: it says nothing about whether the account exists. */
export const tooManyAttempts = (retryAfterSeconds: number) =>
  new ApiError(429, 'too_many_requests', 'too many failed sign-in attempts; retry later', {
    'Retry-After': String(Math.max(1, retryAfterSeconds)),
  });

/**
 * Failed sign-ins counted per account and per client IP (OWASP Authentication Cheat Sheet). The
 * account key is the login as typed, normalized, so an unknown account is throttled exactly like a
 * real one and the 429 reveals nothing.
 */
export function createLoginThrottle(counter: FailureCounter, policy: LoginThrottlePolicy, onThrottled: () => void = () => {}) {
  const accountKey = (login: string) => `account:${login.normalize('NFKC').toLowerCase()}`;
  const ipKey = (ip: string | undefined) => `ip:${ip ?? 'unknown'}`;

  return {
    /** Throws 429 when either limit is reached; before any password is hashed. */
    async check(login: string, ip: string | undefined): Promise<void> {
      const [account, address] = await Promise.all([counter.peek(accountKey(login)), counter.peek(ipKey(ip))]);
      const blocked = [
        account.failures >= policy.maxFailuresPerAccount ? account.retryAfterSeconds : 0,
        address.failures >= policy.maxFailuresPerIp ? address.retryAfterSeconds : 0,
      ];
      if (blocked.some((seconds) => seconds > 0)) {
        onThrottled();
        throw tooManyAttempts(Math.max(...blocked));
      }
    },
    async failed(login: string, ip: string | undefined): Promise<void> {
      await Promise.all([counter.record(accountKey(login)), counter.record(ipKey(ip))]);
    },
    /** A successful sign-in clears the account's count (not the IP's). */
    async succeeded(login: string): Promise<void> {
      await counter.reset(accountKey(login));
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
