import { describe, expect, it } from 'vitest';
import { createMemoryFailureCounter } from './failure-counter.js';

describe('in-process failure counter', () => {
  it('counts within a window opened by the first failure, then forgets', async () => {
    let now = 1_000_000;
    const counter = createMemoryFailureCounter(60, () => now);
    await counter.record('a');
    now += 30_000;
    await counter.record('a');
    expect(await counter.peek('a')).toEqual({ failures: 2, retryAfterSeconds: 30 });
    now += 30_001;
    expect(await counter.peek('a')).toEqual({ failures: 0, retryAfterSeconds: 0 });
  });

  it('resets a key and keeps keys apart', async () => {
    const counter = createMemoryFailureCounter(60);
    await counter.record('a');
    await counter.record('b');
    await counter.reset('a');
    expect((await counter.peek('a')).failures).toBe(0);
    expect((await counter.peek('b')).failures).toBe(1);
  });
});
