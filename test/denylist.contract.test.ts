import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { Denylist } from '../src/denylist/denylist.js';
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

function memorySubject(): Subject {
  const clock = { now: 1_000_000 };
  return { denylist: createMemoryDenylist(() => clock.now), clock };
}

function redisSubject(): Subject {
  const clock = { now: 1_000_000 };
  const keyPrefix = `test:${randomBytes(6).toString('hex')}:`;
  prefixes.push(keyPrefix);
  const redis = new Redis(testRedisUrl!);
  const admin = new Redis(testRedisUrl!);
  connections.push(redis, admin);
  return {
    denylist: createRedisDenylist({ redis, keyPrefix, logger: createLogger('silent'), now: () => clock.now }),
    clock,
    async dropMirrorConnections() {
      const clients = (await admin.client('LIST')) as string;
      const ids = clients
        .split('\n')
        .filter((line) => line.includes(`name=${keyPrefix}denylist-mirror`))
        .map((line) => /id=(\d+)/.exec(line)![1]!);
      expect(ids).toHaveLength(1); // the mirror's subscriber connection really was cut
      for (const id of ids) await admin.client('KILL', 'ID', id);
    },
  };
}

describe.each([
  ['in-process', memorySubject, true],
  ['Redis', redisSubject, Boolean(testRedisUrl)],
])('denylist contract: %s', (_name, makeSubject, available) => {
  it.runIf(available)('answers for what was added, and only that', async () => {
    const { denylist, clock } = makeSubject();
    await denylist.add([{ jti: 'a', expiresAt: clock.now + 60 }]);
    expect(await denylist.isRevoked('a')).toBe(true);
    expect(await denylist.isRevoked('b')).toBe(false);
  });

  it.runIf(available)('forgets an entry when its token would have expired', async () => {
    const { denylist, clock } = makeSubject();
    await denylist.add([{ jti: 'short', expiresAt: clock.now + 10 }, { jti: 'long', expiresAt: clock.now + 100 }]);
    const mirror = await denylist.mirror();
    expect([mirror.has('short'), mirror.size()]).toEqual([true, 2]);
    clock.now += 11;
    expect(await denylist.isRevoked('short')).toBe(false);
    expect(await denylist.isRevoked('long')).toBe(true);
    expect([mirror.has('short'), mirror.size()]).toEqual([false, 1]);
    await denylist.add([{ jti: 'already-expired', expiresAt: clock.now - 1 }]);
    expect(await denylist.isRevoked('already-expired')).toBe(false);
    await mirror.close();
  });

  it.runIf(available)('gives a late mirror everything so far, then follows additions', async () => {
    const { denylist, clock } = makeSubject();
    await denylist.add([{ jti: 'before', expiresAt: clock.now + 60 }]);
    const mirror = await denylist.mirror();
    expect(mirror.has('before')).toBe(true);
    await denylist.add([{ jti: 'after', expiresAt: clock.now + 60 }]);
    await expect.poll(() => mirror.has('after'), { timeout: 5_000 }).toBe(true);
    await mirror.close();
  });

  it.runIf(available)('loses nothing added while a mirror was disconnected', async () => {
    const subject = makeSubject();
    const mirror = await subject.denylist.mirror();
    await subject.dropMirrorConnections?.();
    await subject.denylist.add([{ jti: 'while-away', expiresAt: subject.clock.now + 60 }]);
    await expect.poll(() => mirror.has('while-away'), { timeout: 10_000 }).toBe(true);
    await mirror.close();
  });
});

describe.runIf(testRedisUrl)('denylist on real Redis', () => {
  it('keeps expired members out of the sorted set', async () => {
    const { denylist, clock } = redisSubject();
    const keyPrefix = prefixes.at(-1)!;
    await denylist.add([{ jti: 'x', expiresAt: clock.now + 5 }]);
    clock.now += 6;
    await denylist.add([{ jti: 'y', expiresAt: clock.now + 5 }]);
    const redis = new Redis(testRedisUrl!);
    connections.push(redis);
    expect(await redis.zrange(`${keyPrefix}denylist`, '0', '-1')).toEqual(['y']);
  });

  it('delivers a revocation made in one process to a mirror in another', async () => {
    const keyPrefix = `test:${randomBytes(6).toString('hex')}:`;
    prefixes.push(keyPrefix);
    const jti = randomBytes(8).toString('hex');
    const watcher = spawn(process.execPath, ['--import', 'tsx', 'test/support/denylist-watcher.ts', testRedisUrl!, keyPrefix, jti], {
      cwd: repositoryRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
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
