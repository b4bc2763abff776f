import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { post, type TokenResult } from '../support/oauth-client.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const PASSWORD = 'a long and proper passphrase';

let database: TestDatabase;
let server: RunningServer;
let web: ClientCredentials;

/** A sign-in from a given client address (the server trusts X-Forwarded-For here). */
const signIn = (username: string, password: string, ip = '198.51.100.1'): Promise<TokenResult> =>
  post(`${server.url}/token`, { grant_type: 'password', username, password, ...web }, { headers: { 'X-Forwarded-For': ip } });
const outcome = (result: TokenResult) => [result.status, result.body.error];

beforeAll(async () => {
  database = await createTestDatabase();
  web = await seedClient(database.env, ['--name', 'web', '--grants', 'password', '--audiences', 'https://api.internal']);
  for (const username of ['tom', 'una', 'vic']) {
    await seedUser(database.env, ['--username', username, '--email', `${username}@example.com`], PASSWORD);
  }
  server = await startServer({
    ...database.env,
    LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
    LOGIN_MAX_FAILURES_PER_IP: '10',
    LOGIN_FAILURE_WINDOW_SECONDS: '60',
    TRUST_PROXY: '1',
  });
});

afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

describe('failed sign-in throttling', () => {
  it('answers 429 with Retry-After once an account reaches its limit, even with the right password', async () => {
    for (let i = 0; i < 3; i += 1)
      expect(outcome(await signIn('tom', 'wrong wrong wrong', '198.51.100.2'))).toEqual([400, 'invalid_grant']);
    const blocked = await signIn('tom', PASSWORD, '198.51.100.2');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(blocked.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(blocked.body).toEqual({ error: 'too_many_requests', error_description: 'too many failed sign-in attempts; retry later' });
  });

  it('answers an unknown account exactly like a real one', async () => {
    const real: unknown[] = [];
    const unknown: unknown[] = [];
    for (let i = 0; i < 4; i += 1) {
      real.push(outcome(await signIn('vic', 'wrong wrong wrong', '198.51.100.3')));
      unknown.push(outcome(await signIn('nobody-at-all', 'wrong wrong wrong', '198.51.100.3')));
    }
    expect(unknown).toEqual(real);
    expect(real.at(-1)).toEqual([429, 'too_many_requests']);
  });

  it('clears the account count on a successful sign-in', async () => {
    for (let i = 0; i < 2; i += 1) expect((await signIn('una', 'wrong wrong wrong', '198.51.100.4')).status).toBe(400);
    expect((await signIn('una', PASSWORD, '198.51.100.4')).status).toBe(200);
    for (let i = 0; i < 2; i += 1) expect((await signIn('una', 'wrong wrong wrong', '198.51.100.4')).status).toBe(400);
    expect((await signIn('una', PASSWORD, '198.51.100.4')).status).toBe(200);
  });

  it('limits one client address across accounts, and not the others', async () => {
    for (let i = 0; i < 10; i += 1) expect((await signIn(`spray-${i}`, 'wrong wrong wrong', '203.0.113.9')).status).toBe(400);
    expect(outcome(await signIn('spray-new', 'wrong wrong wrong', '203.0.113.9'))).toEqual([429, 'too_many_requests']);
    expect(outcome(await signIn('spray-new', 'wrong wrong wrong', '203.0.113.10'))).toEqual([400, 'invalid_grant']);
  });

  it('counts throttled sign-ins in the metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const line = text.split('\n').find((entry) => entry.startsWith('token_issuer_login_throttled_total '));
    expect(Number(line?.split(' ')[1])).toBeGreaterThanOrEqual(3);
  });
});
