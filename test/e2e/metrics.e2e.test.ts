import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { post } from '../support/oauth-client.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;
let server: RunningServer;
let web: ClientCredentials;

/** The value of one series in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
const scrape = async (url = server.url) => (await fetch(`${url}/metrics`)).text();

beforeAll(async () => {
  database = await createTestDatabase();
  web = await seedClient(database.env, ['--name', 'web', '--grants', 'password,refresh_token', '--audiences', 'https://api.internal']);
  await seedUser(database.env, ['--username', 'mia', '--email', 'mia@example.com'], 'mia has a long passphrase');
  server = await startServer(database.env);
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

describe('GET /metrics', () => {
  it('counts what happened: tokens issued, refreshed, reused and revoked, with the gauges an operator needs', async () => {
    const signIn = await post(`${server.url}/token`, {
      grant_type: 'password',
      username: 'mia',
      password: 'mia has a long passphrase',
      ...web,
    });
    const first = signIn.body.refresh_token as string;
    const refreshed = await post(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: first, ...web });
    expect(refreshed.status).toBe(200);
    const second = await post(`${server.url}/token`, {
      grant_type: 'refresh_token',
      refresh_token: refreshed.body.refresh_token as string,
      ...web,
    });
    expect(second.status).toBe(200);
    // `first`'s child has been used: no retry within the grace window, but reuse.
    expect((await post(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: first, ...web })).status).toBe(400);
    const again = await post(`${server.url}/token`, {
      grant_type: 'password',
      username: 'mia',
      password: 'mia has a long passphrase',
      ...web,
    });
    expect((await post(`${server.url}/revoke`, { token: again.body.refresh_token as string, ...web })).status).toBe(200);

    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(sample(text, 'token_issuer_tokens_issued_total{grant_type="password"}')).toBe(2);
    expect(sample(text, 'token_issuer_tokens_issued_total{grant_type="refresh_token"}')).toBe(2);
    expect(sample(text, 'token_issuer_token_errors_total{error="invalid_grant"}')).toBe(1);
    expect(sample(text, 'token_issuer_refresh_token_reuse_detected_total')).toBe(1);
    expect(sample(text, 'token_issuer_revocations_total{kind="session"}')).toBe(1);
    expect(sample(text, 'token_issuer_http_request_duration_seconds_count{method="POST",route="/token",status="200"}')).toBe(4);
    expect(sample(text, 'token_issuer_http_request_duration_seconds_count{method="POST",route="/revoke",status="200"}')).toBe(1);
    expect(sample(text, 'token_issuer_password_hash_queue_depth')).toBe(0);
    expect(sample(text, 'token_issuer_signing_key_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'token_issuer_dependency_up{dependency="database"}')).toBe(1);
    if (database.env.REDIS_URL) expect(sample(text, 'token_issuer_dependency_up{dependency="redis"}')).toBe(1);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('nodejs_heap_size_used_bytes');

    // Two sessions were revoked (reuse, then /revoke): their access tokens are in this instance's copy.
    await expect.poll(async () => sample(await scrape(), 'token_issuer_denylist_entries'), { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    expect(sample(await scrape(), 'token_issuer_denylist_staleness_seconds')).toBe(0);
  });

  it('labels by route pattern, never by raw path', async () => {
    await fetch(`${server.url}/no/such/path/123`);
    const text = await scrape();
    expect(text).toContain('route="unmatched",status="404"');
    expect(text).not.toContain('/no/such/path');
  });
});

describe('METRICS_PORT', () => {
  it('moves /metrics off the public port', async () => {
    const metricsPort = await freePort();
    const own = await createTestDatabase();
    const apart = await startServer({ ...own.env, METRICS_PORT: String(metricsPort) });
    try {
      expect((await fetch(`${apart.url}/metrics`)).status).toBe(404);
      await expect
        .poll(async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => undefined))?.status, { timeout: 5_000 })
        .toBe(200);
    } finally {
      await apart.stop();
      await own.drop();
    }
  });
});
