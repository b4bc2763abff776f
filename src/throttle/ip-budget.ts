import { tooManyRequests } from '../errors.js';
import type { WindowCounter } from './window-counter.js';

/**
 * So many of something per client IP in each window of the counter (RFC 6585 §4: 429 with
 * Retry-After past it). The slot is taken before the work it guards, in one atomic step, so a burst
 * of parallel requests gets no more than the limit through (OWASP ASVS 5 §2.4).
 */
export interface IpBudget {
  /** Takes one slot for `ipAddress`; throws 429 when that is past the limit. */
  spend(ipAddress: string | undefined): Promise<void>;
}

export interface IpBudgetOptions {
  /** What is counted, in the counter's key. */
  name: string;
  limit: number;
  /** The 429's description. */
  description: string;
  onLimited?: () => void;
}

export function createIpBudget(counter: WindowCounter, options: IpBudgetOptions): IpBudget {
  return {
    async spend(ipAddress) {
      const tally = await counter.take(`${options.name}:ip:${ipAddress ?? 'unknown'}`);
      if (tally.count > options.limit) {
        options.onLimited?.();
        throw tooManyRequests(tally.retryAfterSeconds, options.description);
      }
    },
  };
}

/** For code that has no limit of its own to keep (the CLI, unit tests). */
export const UNLIMITED: IpBudget = { spend: async () => {} };
