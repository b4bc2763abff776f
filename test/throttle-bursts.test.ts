import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { createMemoryWindowCounter, createRedisWindowCounter, type WindowCounter } from '../src/throttle/window-counter.js';
import { registerUser } from '../src/users/accounts.js';
import { listUsers } from '../src/users/user-store.js';
import { createInProcessApp, passwordSignIn, socketFrom, type InProcessApp } from './support/in-process-app.js';
import { testRedisUrl } from './support/test-database.js';

const PASSWORD = 'a long and proper passphrase';

/** The counters on each store this machine has: in-process always, Redis when the suite has one (CI does). */
const stores: [string, (windowSeconds: number) => WindowCounter][] = [
  ['in-process', (windowSeconds) => createMemoryWindowCounter(windowSeconds)],
];
let redis: Redis | undefined;
const prefix = `throttle-bursts-${randomBytes(4).toString('hex')}:`;
if (testRedisUrl) {
  redis = new Redis(testRedisUrl);
  stores.push([
    'Redis',
    (windowSeconds) => createRedisWindowCounter(redis!, `${prefix}${windowSeconds}:${randomBytes(4).toString('hex')}:`, windowSeconds),
  ]);
}

afterAll(async () => {
  if (!redis) return;
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe.each(stores)('limits under a burst of parallel requests, counted in %s', (_store, counter) => {
  let harness: InProcessApp;
  let web: CreatedClient;
  let verifies = 0;

  beforeAll(async () => {
    harness = await createInProcessApp({
      env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '5', LOGIN_MAX_FAILURES_PER_IP: '50', SIGNUP_RATE_LIMIT_PER_IP: '10', TRUST_PROXY: 'false' },
      hasher: (real) => ({
        ...real,
        verify(hash, password) {
          verifies += 1;
          return real.verify(hash, password);
        },
      }),
      counters: { failures: counter(60), rate: counter(60) },
    });
    web = await createClient(harness.database.db, {
      name: 'web',
      grantTypes: ['password'],
      scopes: [],
      audiences: ['https://api.internal'],
    });
    await registerUser(harness.accounts, { username: 'bob', email: 'bob@example.com' }, PASSWORD);
    await registerUser(harness.accounts, { username: 'ann', email: 'ann@example.com' }, PASSWORD);
  });

  afterAll(() => harness?.close());

  const signIn = (username: string, password: string, ip: string) => passwordSignIn(harness, web, { username, password }, ip);

  /** Every 429 carries a Retry-After within the window; returns the statuses. */
  async function statusesOf(responses: Response[]) {
    for (const response of responses.filter((r) => r.status === 429)) {
      const retryAfter = Number(response.headers.get('Retry-After'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    return responses.map((response) => response.status);
  }

  it('lets at most the account limit of 30 parallel wrong passwords reach the hasher', async () => {
    verifies = 0;
    const statuses = await statusesOf(
      await Promise.all(Array.from({ length: 30 }, (_, i) => signIn('bob', `wrong guess ${i}`, `198.51.100.${i + 1}`))),
    );
    expect(verifies).toBe(5);
    expect(statuses.filter((status) => status === 400)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(25);
    // The right password is throttled too, and costs no hash.
    expect((await signIn('bob', PASSWORD, '198.51.100.200')).status).toBe(429);
    expect(verifies).toBe(5);
  });

  it('gives one account one budget, whatever form of its name is typed', async () => {
    verifies = 0;
    const forms = ['ann', 'ANN', 'ann@example.com', 'Ann@Example.COM', 'ａｎｎ'];
    for (const [i, login] of forms.entries()) expect((await signIn(login, 'wrong wrong wrong', `203.0.113.${i + 1}`)).status).toBe(400);
    for (const login of forms) expect((await signIn(login, PASSWORD, '203.0.113.99')).status).toBe(429);
    expect(verifies).toBe(5);
  });

  it('throttles an unknown login exactly like a real one, in every form', async () => {
    verifies = 0;
    const statuses = await statusesOf(
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => signIn(i % 2 ? 'NoBody' : 'ｎｏｂｏｄｙ', 'wrong wrong wrong', `192.0.2.${i + 1}`)),
      ),
    );
    expect(verifies).toBe(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(15);
  });

  it('lets at most the address limit of 100 parallel failures from one address reach the hasher', async () => {
    verifies = 0;
    const statuses = await statusesOf(
      await Promise.all(Array.from({ length: 100 }, (_, i) => signIn(`spray-${i}`, 'wrong wrong wrong', '198.18.0.1'))),
    );
    expect(verifies).toBe(50);
    expect(statuses.filter((status) => status === 429)).toHaveLength(50);
    // Other addresses are not affected.
    expect((await signIn('spray-x', 'wrong wrong wrong', '198.18.0.2')).status).toBe(400);
  });

  it('lets at most the limit of 30 parallel signups through, and creates no more accounts', async () => {
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        harness.app.request(
          '/signup',
          {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ username: `burst${i}`, email: `burst${i}@example.com`, password: PASSWORD }),
          },
          socketFrom('198.18.1.1'),
        ),
      ),
    );
    const statuses = await statusesOf(responses);
    expect(statuses.filter((status) => status === 201)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(20);
    const created = (await listUsers(harness.database.db)).filter((user) => user.username.startsWith('burst'));
    expect(created).toHaveLength(10);
  });
});
