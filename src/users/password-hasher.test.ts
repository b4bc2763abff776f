import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../errors.js';
import { concurrencyLimit } from './concurrency-limit.js';
import { createPasswordHasher } from './password-hasher.js';

const configured = { memoryKib: 19_456, timeCost: 2, parallelism: 1 };

describe('password hasher', () => {
  const hasher = createPasswordHasher(configured, 2);

  it('verifies the right password only, and never an unknown account', async () => {
    const stored = await hasher.hash('a correct long passphrase');
    expect(await hasher.verify(stored, 'a correct long passphrase')).toBe(true);
    expect(await hasher.verify(stored, 'a wrong long passphrase!')).toBe(false);
    expect(await hasher.verify(undefined, 'a correct long passphrase')).toBe(false);
    expect(await hasher.verify('not a hash', 'a correct long passphrase')).toBe(false);
  });

  it('wants a rehash for weaker or other algorithms, not for its own', () => {
    expect(hasher.needsRehash('$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA')).toBe(false);
    expect(hasher.needsRehash('$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA')).toBe(false);
    expect(hasher.needsRehash('$argon2id$v=19$m=4096,t=2,p=1$c2FsdA$aGFzaA')).toBe(true);
    expect(hasher.needsRehash('$argon2id$v=19$m=19456,t=1,p=1$c2FsdA$aGFzaA')).toBe(true);
    expect(hasher.needsRehash('$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA')).toBe(true);
    expect(hasher.needsRehash('$2b$12$bcryptbcryptbcryptbcry')).toBe(true);
  });
});

describe('concurrencyLimit', () => {
  it('runs at most N at once, queues the rest, and refuses past the queue', async () => {
    const limited = concurrencyLimit(2, 1);
    let running = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    const task = () =>
      limited(async () => {
        running += 1;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
      });
    const first = [task(), task(), task()]; // two run, one queues
    await expect(task()).rejects.toBeInstanceOf(DependencyUnavailableError);
    while (releases.length < 2) await new Promise((resolve) => setImmediate(resolve));
    releases.splice(0).forEach((release) => release());
    while (releases.length < 1) await new Promise((resolve) => setImmediate(resolve));
    releases.splice(0).forEach((release) => release());
    await Promise.all(first);
    expect(peak).toBe(2);
  });
});
