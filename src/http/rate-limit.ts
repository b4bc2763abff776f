import type { MiddlewareHandler } from 'hono';
import { tooManyRequests } from '../errors.js';
import type { WindowCounter } from '../throttle/window-counter.js';
import type { AppEnv } from './app-env.js';

const limited = (retryAfterSeconds: number) => tooManyRequests(retryAfterSeconds, 'too many requests from this address; retry later');

/**
 * At most `limit` requests per client IP in each window of the counter (RFC 6585 §4: 429 with
 * Retry-After). Every request counts, whatever its outcome: these endpoints cost mail, hashing
 * or database work that an attacker should not get for free. The slot is taken before the work, in
 * one atomic step, so a burst of parallel requests gets no more than the limit through.
 */
export function ipRateLimit(
  counter: WindowCounter,
  name: string,
  limit: number,
  onLimited: () => void = () => {},
): MiddlewareHandler<AppEnv> {
  return async function limitRequestsPerIp(c, next) {
    const tally = await counter.take(`${name}:ip:${c.get('clientIp') ?? 'unknown'}`);
    if (tally.count > limit) {
      onLimited();
      throw limited(tally.retryAfterSeconds);
    }
    await next();
  };
}
