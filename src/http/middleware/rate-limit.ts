import type { MiddlewareHandler } from 'hono';
import type { IpBudget } from '../../throttle/ip-budget.js';
import type { AppEnv } from '../app-env.js';

/**
 * Every request to the route takes a slot of the client IP's budget, whatever its outcome: these
 * endpoints cost mail, hashing or database work that an attacker should not get for free.
 */
export function ipRateLimit(budget: IpBudget): MiddlewareHandler<AppEnv> {
  return async function limitRequestsPerIp(c, next) {
    await budget.spend(c.get('clientIp'));
    await next();
  };
}
