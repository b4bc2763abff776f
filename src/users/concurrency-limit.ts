import { DependencyUnavailableError } from '../errors.js';

/**
 * Runs at most `concurrency` tasks at once and queues at most `maxQueued` more; past that the
 * caller gets a 503 at once instead of an ever-growing wait.
 */
export function concurrencyLimit(concurrency: number, maxQueued: number) {
  let running = 0;
  const waiting: (() => void)[] = [];

  async function limited<T>(task: () => Promise<T>): Promise<T> {
    if (running >= concurrency) {
      if (waiting.length >= maxQueued) throw new DependencyUnavailableError('password hashing');
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    running += 1;
    try {
      return await task();
    } finally {
      running -= 1;
      waiting.shift()?.();
    }
  }
  /** How many tasks wait for a slot. */
  limited.pending = () => waiting.length;
  return limited;
}
