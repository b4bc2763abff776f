import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi } from '../support/api-client.js';
import { basicAuth } from '../support/oauth-client.js';
import { startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const PASSWORD = 'correct horse battery staple';

let database: TestDatabase;
let server: RunningServer;
let resourceServer: ClientCredentials;

beforeAll(async () => {
  database = await createTestDatabase();
  resourceServer = await seedClient(database.env, [
    '--name',
    'orders-api',
    '--grants',
    'client_credentials',
    '--scopes',
    'introspect',
    '--audiences',
    ISSUER,
  ]);
  server = await startServer({
    ...database.env,
    ISSUER,
    SIGNUP_ENABLED: 'true',
    SIGNUP_RATE_LIMIT_PER_IP: '2',
    PASSWORD_FORGOT_RATE_LIMIT_PER_IP: '2',
    INTROSPECTION_RATE_LIMIT_PER_IP: '3',
    PASSWORD_RESET_TTL_SECONDS: '1',
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

function expectLimited(response: { status: number; headers: Headers; body: Record<string, unknown> }) {
  expect(response.status).toBe(429);
  expect(response.body.error).toBe('too_many_requests');
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe('per-IP rate limits (one-minute windows)', () => {
  it('limits signups, counting refused ones too, and creates nothing past the limit', async () => {
    const signup = (username: string) =>
      callApi(server.url, 'POST', '/signup', { json: { username, email: `${username}@example.com`, password: PASSWORD } });
    expect((await signup('first')).status).toBe(201);
    expect((await callApi(server.url, 'POST', '/signup', { json: { username: 'x' } })).status).toBe(400);
    expectLimited(await signup('third'));
    const login = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basicAuth(resourceServer) },
      body: 'grant_type=client_credentials',
    });
    expect(login.status).toBe(200); // other endpoints are not affected
  });

  it('limits password reset requests with the same generic 429 for any address', async () => {
    const forgot = (email: string) => callApi(server.url, 'POST', '/password/forgot', { json: { email } });
    expect((await forgot('first@example.com')).status).toBe(202);
    expect((await forgot('nobody@example.com')).status).toBe(202);
    const limited = await forgot('first@example.com');
    expectLimited(limited);
    expect(limited.body).toEqual((await forgot('nobody@example.com')).body);
  });

  it('refuses a reset link past PASSWORD_RESET_TTL_SECONDS', async () => {
    // No SMTP_URL here: the message, link included, is written to the log (the embedded mode's way).
    const token = await waitFor(() => /"to":"first@example.com"[^\n]*#token=([A-Za-z0-9_-]+)/.exec(server.output())?.[1]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const expired = await callApi(server.url, 'POST', '/password/reset', { json: { token, new_password: 'a fresh new passphrase' } });
    expect([expired.status, expired.body.error]).toEqual([400, 'invalid_reset_token']);
  });

  it('limits introspection calls', async () => {
    const introspect = () =>
      fetch(`${server.url}/introspect`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: basicAuth(resourceServer) },
        body: 'token=not-a-token',
      });
    for (let call = 0; call < 3; call++) expect((await introspect()).status).toBe(200);
    const limited = await introspect();
    expectLimited({ status: limited.status, headers: limited.headers, body: (await limited.json()) as Record<string, unknown> });
  });
});

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
