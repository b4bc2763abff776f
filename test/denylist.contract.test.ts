import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPIRY_GRACE_SECONDS, type Denylist } from '../src/denylist/denylist.js';
import { createMemoryDenylist } from '../src/denylist/memory-denylist.js';
import { createRedisDenylist } from '../src/denylist/redis-denylist.js';
import { createLogger } from '../src/logger.js';
import { repositoryRoot } from './support/processes.js';
import { testRedisUrl } from './support/test-database.js';

interface Subject {
  denylist: Denylist;
  /** Moves the denylist's clock, in epoch seconds. */
  clock: { now: number };
  /** Cuts the mirrors' connections, where there are connections to cut. */
  dropMirrorConnections?: () => Promise<void>;
  /** What a Redis restart does: the data gone, every connection cut. */
  loseData?: () => Promise<void>;
}

const connections: Redis[] = [];
const prefixes: string[] = [];
afterAll(async () => {
  if (testRedisUrl && prefixes.length > 0) {
    const cleanup = new Redis(testRedisUrl);
    await cleanup.del(...prefixes.map((prefix) => `${prefix}denylist`));
    await cleanup.quit();
  }
  await Promise.all(connections.map((connection) => connection.quit().catch(() => undefined)));
});

async function memorySubject(): Promise<Subject> {
  const clock = { now: 1_000_000 };
  return { denylist: createMemoryDenylist(() => clock.now), clock };
}

/** A store on Redis, filled as the issuer fills it at start. */
async function redisSubject(): Promise<Subject> {
  const clock = { now: 1_000_000 };
  const keyPrefix = `test:${randomBytes(6).toString('hex')}:`;
  prefixes.push(keyPrefix);
  const redis = new Redis(testRedisUrl!);
  const admin = new Redis(testRedisUrl!);
  connections.push(redis, admin);
  const denylist = createRedisDenylist({ redis, keyPrefix, logger: createLogger('silent'), now: () => clock.now });
  await denylist.refill([]);
  const dropMirrorConnections = async () => {
    const clients = (await admin.client('LIST')) as string;
    const ids = clients
      .split('\n')
      .filter((line) => line.includes(`name=${keyPrefix}denylist-mirror`))
      .map((line) => /id=(\d+)/.exec(line)![1]!);
    // The denylist's own copy, and the test's mirror when it opened one: they really were cut.
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) await admin.client('KILL', 'ID', id);
  };
  return {
    denylist,
    clock,
    dropMirrorConnections,
    async loseData() {
      await admin.del(`${keyPrefix}denylist`);
      await dropMirrorConnections();
    },
  };
}

describe.each([
  ['in-process', memorySubject, true],
  ['Redis', redisSubject, Boolean(testRedisUrl)],
])('denylist contract: %s', (_name, makeSubject, available) => {
  it.runIf(available)('answers for what was added, and only that', async () => {
    const { denylist, clock } = await makeSubject();
    await denylist.add([{ jti: 'a', expiresAt: clock.now + 60 }]);
    expect(await denylist.isRevoked('a')).toBe(true);
    expect(await denylist.isRevoked('b')).toBe(false);
  });

  it.runIf(available)('forgets an entry when its token would have expired', async () => {
    const { denylist, clock } = await makeSubject();
    await denylist.add([
      { jti: 'short', expiresAt: clock.now + 10 },
      { jti: 'long', expiresAt: clock.now + 100 },
    ]);
    const mirror = await denylist.mirror();
    expect([mirror.has('short'), mirror.size()]).toEqual([true, 2]);
    // Still refused while a verifier's clock tolerance could accept the expired token.
    clock.now += 11;
    expect([await denylist.isRevoked('short'), mirror.has('short')]).toEqual([true, true]);
    clock.now += EXPIRY_GRACE_SECONDS;
    expect(await denylist.isRevoked('short')).toBe(false);
    expect(await denylist.isRevoked('long')).toBe(true);
    expect([mirror.has('short'), mirror.size()]).toEqual([false, 1]);
    await denylist.add([{ jti: 'already-expired', expiresAt: clock.now - EXPIRY_GRACE_SECONDS - 1 }]);
    expect(await denylist.isRevoked('already-expired')).toBe(false);
    await mirror.close();
  });

  it.runIf(available)('gives a late mirror everything so far, then follows additions', async () => {
    const { denylist, clock } = await makeSubject();
    await denylist.add([{ jti: 'before', expiresAt: clock.now + 60 }]);
    const mirror = await denylist.mirror();
    expect(mirror.has('before')).toBe(true);
    await denylist.add([{ jti: 'after', expiresAt: clock.now + 60 }]);
    await expect.poll(() => mirror.has('after'), { timeout: 5_000 }).toBe(true);
    await mirror.close();
  });

  it.runIf(available)('refuses by cut-off, inclusive to the second, here and in every mirror, late ones too', async () => {
    const { denylist, clock } = await makeSubject();
    const early = await denylist.mirror();
    const before = clock.now;
    const token = (iat: number) => ({ jti: 'unlisted', iat, sub: 'billing', client_id: 'billing' });
    await denylist.add([{ kind: 'client_id', value: 'billing', before, expiresAt: before + 900 }]);
    expect([await denylist.refusal(token(before)), await denylist.refusal(token(before + 1))]).toEqual(['revoked_client', undefined]);
    // What the issuer reads before minting: the next token of this client says it was issued later.
    expect(denylist.latestCutoff({ sub: 'billing', client_id: 'billing' })).toBe(before);
    await expect.poll(() => early.refusal(token(before)), { timeout: 5_000 }).toBe('revoked_client');
    const late = await denylist.mirror();
    expect([late.refusal(token(before)), late.refusal(token(before + 1))]).toEqual(['revoked_client', undefined]);
    expect(await denylist.isRevoked('unlisted')).toBe(false);
    await Promise.all([early.close(), late.close()]);
  });

  it.runIf(available)('loses nothing added while a mirror was disconnected', async () => {
    const subject = await makeSubject();
    const mirror = await subject.denylist.mirror();
    await subject.dropMirrorConnections?.();
    await subject.denylist.add([{ jti: 'while-away', expiresAt: subject.clock.now + 60 }]);
    await expect.poll(() => mirror.has('while-away'), { timeout: 10_000 }).toBe(true);
    await mirror.close();
  });
});

describe.runIf(testRedisUrl)('denylist on real Redis', () => {
  it('keeps expired members out of the sorted set', async () => {
    const { denylist, clock } = await redisSubject();
    const keyPrefix = prefixes.at(-1)!;
    await denylist.add([{ jti: 'x', expiresAt: clock.now + 5 }]);
    clock.now += 6 + EXPIRY_GRACE_SECONDS;
    await denylist.add([{ jti: 'y', expiresAt: clock.now + 5 }]);
    const redis = new Redis(testRedisUrl!);
    connections.push(redis);
    expect(await redis.zrange(`${keyPrefix}denylist`, '0', '-1')).toEqual(['y', ':complete']);
  });

  it('never takes a set left empty by a restart for "nothing revoked", until it is refilled', async () => {
    const { denylist, clock, loseData } = await redisSubject();
    const entry = { jti: 'revoked-before', expiresAt: clock.now + 600 };
    await denylist.add([entry]);
    const mirror = await denylist.mirror();
    expect([mirror.has(entry.jti), mirror.staleness()]).toEqual([true, 0]);

    await loseData!();
    // The issuer's answer: not "not revoked" for a jti it cannot find, and not complete.
    await expect(denylist.isRevoked('revoked-before')).rejects.toMatchObject({ name: 'DependencyUnavailableError' });
    await expect(denylist.isRevoked('anything')).rejects.toMatchObject({ name: 'DependencyUnavailableError' });
    expect(await denylist.isComplete()).toBe(false);
    // A mirror reloads the empty set after reconnecting, keeps what it had, and counts as stale.
    await expect.poll(() => mirror.staleness() > 0, { timeout: 5_000 }).toBe(true);
    expect(mirror.has(entry.jti)).toBe(true);

    await denylist.refill([entry]);
    expect([await denylist.isRevoked('revoked-before'), await denylist.isRevoked('anything'), await denylist.isComplete()]).toEqual([
      true,
      false,
      true,
    ]);
    await expect.poll(() => mirror.staleness(), { timeout: 5_000 }).toBe(0);
    await mirror.close();
  });

  it('answers 503 for a cut-off while its own copy is not current, and refuses again once refilled', async () => {
    const { denylist, clock, loseData } = await redisSubject();
    const cutoff = { kind: 'sub' as const, value: 'user-1', before: clock.now, expiresAt: clock.now + 900 };
    const token = { jti: 'unlisted', iat: clock.now, sub: 'user-1', client_id: 'app' };
    await denylist.add([cutoff]);
    expect(await denylist.refusal(token)).toBe('revoked_subject');

    await loseData!();
    await expect
      .poll(() => denylist.refusal(token).catch((error: Error) => error.name), { timeout: 5_000 })
      .toBe('DependencyUnavailableError');
    // The refill from PostgreSQL carries the cut-off back.
    await denylist.refill([cutoff]);
    await expect.poll(() => denylist.refusal(token).catch((error: Error) => error.name), { timeout: 5_000 }).toBe('revoked_subject');
  });

  it('refuses to mark a set complete that lost its data while being refilled', async () => {
    const clock = { now: 1_000_000 };
    const keyPrefix = `test:${randomBytes(6).toString('hex')}:`;
    prefixes.push(keyPrefix);
    const redis = new Redis(testRedisUrl!);
    connections.push(redis);
    // The data goes just before the refill's last step, as in a Redis restart mid-refill.
    const losingData = Object.assign(Object.create(redis) as Redis, {
      eval: async (...args: Parameters<Redis['eval']>) => {
        await redis.del(`${keyPrefix}denylist`);
        return redis.eval(...args);
      },
    });
    const denylist = createRedisDenylist({ redis: losingData, keyPrefix, logger: createLogger('silent'), now: () => clock.now });
    await expect(denylist.refill([{ jti: 'j', expiresAt: clock.now + 600 }])).rejects.toMatchObject({ name: 'DependencyUnavailableError' });
    expect(await denylist.isComplete()).toBe(false);
    // The next refill, with nothing lost, completes it.
    await createRedisDenylist({ redis, keyPrefix, logger: createLogger('silent'), now: () => clock.now }).refill([
      { jti: 'j', expiresAt: clock.now + 600 },
    ]);
    expect(await denylist.isComplete()).toBe(true);
  });

  it('delivers a revocation made in one process to a mirror in another', async () => {
    const keyPrefix = `test:${randomBytes(6).toString('hex')}:`;
    prefixes.push(keyPrefix);
    const jti = randomBytes(8).toString('hex');
    const filler = new Redis(testRedisUrl!);
    connections.push(filler);
    await createRedisDenylist({ redis: filler, keyPrefix, logger: createLogger('silent') }).refill([]);
    const watcher = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'test/support/denylist-watcher.ts', testRedisUrl!, keyPrefix, jti],
      {
        cwd: repositoryRoot,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    watcher.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await expect.poll(() => output, { timeout: 15_000 }).toContain('ready');

    const redis = new Redis(testRedisUrl!);
    connections.push(redis);
    await createRedisDenylist({ redis, keyPrefix, logger: createLogger('silent') }).add([
      { jti, expiresAt: Math.floor(Date.now() / 1000) + 60 },
    ]);
    await expect.poll(() => output, { timeout: 5_000 }).toContain(`seen ${jti}`);
    watcher.kill();
  });
});
