import { describe, expect, it } from 'vitest';
import { createMemoryWindowCounter } from './window-counter.js';

describe('in-process window counter', () => {
  it('counts within a window opened by the first attempt, then forgets', async () => {
    let now = 1_000_000;
    const counter = createMemoryWindowCounter(60, () => now);
    expect(await counter.take('a')).toEqual({ count: 1, retryAfterSeconds: 60 });
    now += 30_000;
    expect(await counter.take('a')).toEqual({ count: 2, retryAfterSeconds: 30 });
    now += 30_001;
    expect(await counter.take('a')).toEqual({ count: 1, retryAfterSeconds: 60 });
  });

  it('counts every one of a burst of parallel attempts', async () => {
    const counter = createMemoryWindowCounter(60);
    const tallies = await Promise.all(Array.from({ length: 50 }, () => counter.take('a')));
    expect(tallies.map((tally) => tally.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('gives attempts back without going below zero, resets a key and keeps keys apart', async () => {
    const counter = createMemoryWindowCounter(60);
    await counter.take('a');
    await counter.take('a');
    await counter.giveBack('a');
    await counter.giveBack('a');
    await counter.giveBack('a');
    expect((await counter.take('a')).count).toBe(1);
    await counter.take('b');
    await counter.reset('a');
    expect((await counter.take('a')).count).toBe(1);
    expect((await counter.take('b')).count).toBe(2);
  });
});
