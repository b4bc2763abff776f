import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { freePort, startServer } from '../support/processes.js';
import { seedClient } from '../support/seed.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl } from '../support/test-database.js';

import { getJson } from '../support/api-client.js';

describe.runIf(adminDatabaseUrl && testRedisUrl)('Redis behind Sentinel', () => {
  it('finds the primary through a real Sentinel and revokes through it', async () => {
    const redisUrl = new URL(testRedisUrl!);
    const dir = await mkdtemp(join(tmpdir(), 'token-issuer-sentinel-'));
    const port = await freePort();
    const name = `ti${randomBytes(4).toString('hex')}`;
    await writeFile(
      join(dir, 'sentinel.conf'),
      [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} ${redisUrl.hostname} ${redisUrl.port || 6379} 1`].join(
        '\n',
      ),
    );
    const sentinel = spawn('redis-server', [join(dir, 'sentinel.conf'), '--sentinel'], { stdio: 'ignore' });
    const database = await createTestDatabase({ redis: false });
    try {
      const env = { ...database.env, REDIS_SENTINELS: `127.0.0.1:${port}`, REDIS_SENTINEL_NAME: name, REDIS_KEY_PREFIX: `${name}:` };
      const machine = await seedClient(env, ['--name', 'ops', '--grants', 'client_credentials', '--audiences', 'https://api.internal']);
      const server = await startServer(env);
      try {
        await expect
          .poll(async () => (await getJson(`${server.url}/readyz`)).body, { timeout: 10_000 })
          .toEqual({
            status: 'ready',
            checks: { database: 'ok', redis: 'ok', denylist: 'ok' },
          });
        const form = (path: string, body: Record<string, string>) =>
          fetch(`${server.url}${path}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ ...body, ...machine }),
          });
        const { access_token: token } = (await (await form('/token', { grant_type: 'client_credentials' })).json()) as {
          access_token: string;
        };
        expect((await form('/revoke', { token })).status).toBe(200);
        expect(await (await form('/introspect', { token })).json()).toEqual({ active: false });
      } finally {
        await server.stop();
      }
    } finally {
      sentinel.kill();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
      // The keys this test's prefix left on the Redis behind the Sentinel (the denylist).
      const redis = new Redis(testRedisUrl!);
      const keys = await redis.keys(`${name}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  });
});
