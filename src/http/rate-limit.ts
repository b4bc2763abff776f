import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../errors.js';
import type { FailureCounter } from '../throttle/failure-counter.js';
import type { AppEnv } from './app-env.js';

export const tooManyRequests = (retryAfterSeconds: number) =>
  new ApiError(429, 'too_many_requests', 'too many requests from this address; retry later', {
    'Retry-After': String(Math.max(1, retryAfterSeconds)),
  });

/**
 * At most `limit` requests per client IP in each window of the counter (RFC 6585 §4: 429 with
 * Retry-After). Every request counts, whatever its outcome: these endpoints cost mail, hashing
 * or database work that an attacker should not get for free.
 */
export function ipRateLimit(counter: FailureCounter, name: string, limit: number, onLimited: () => void = () => {}): MiddlewareHandler<AppEnv> {
  return async function limitRequestsPerIp(c, next) {
    const key = `${name}:ip:${c.get('clientIp') ?? 'unknown'}`;
    const seen = await counter.peek(key);
    if (seen.failures >= limit) {
      onLimited();
      throw tooManyRequests(seen.retryAfterSeconds);
    }
    await counter.record(key);
    await next();
  };
}
