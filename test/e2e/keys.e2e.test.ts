import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { signingKeys } from '../../src/db/schema.js';
import { ServerHarness, type ClientCredentials } from '../support/processes.js';
import { seedClient } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const AUDIENCE = 'https://api.internal';

let database: TestDatabase;
let harness: ServerHarness;
let client: ClientCredentials;

beforeAll(async () => {
  database = await createTestDatabase();
  client = await seedClient(database.env, ['--name', 'api', '--grants', 'client_credentials', '--audiences', AUDIENCE]);
  // Long enough that the steps between the rotation and the check that the old key still signs fit
  // in it on a loaded machine; the takeover after it is waited for.
  harness = await ServerHarness.start({ ...database.env, ISSUER, KEYS_REFRESH_INTERVAL: '1', KEY_ACTIVATION_DELAY: '15' });
});

afterAll(async () => {
  await harness?.stop();
  await database?.drop();
});

async function issueToken(): Promise<string> {
  const response = await fetch(`${harness.url}/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...client }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function fetchJwks() {
  const response = await fetch(`${harness.url}/.well-known/jwks.json`);
  return { response, jwks: (await response.json()) as { keys: Record<string, string>[] } };
}

function verify(token: string) {
  const jwks = createRemoteJWKSet(new URL(`${harness.url}/.well-known/jwks.json`));
  return jwtVerify(token, jwks, { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', algorithms: ['RS256'] });
}

describe('JWKS', () => {
  it('publishes only the public RSA members, with kid, alg and use', async () => {
    const { response, jwks } = await fetchJwks();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/jwk-set+json');
    expect(response.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
      expect(Buffer.from(key.n!, 'base64url').length * 8).toBe(2048);
    }
  });

  it('answers 304 to a matching If-None-Match, and 200 to a stale one', async () => {
    const { response } = await fetchJwks();
    const etag = response.headers.get('etag')!;
    expect(etag).toMatch(/^"[^"]+"$/);
    const again = await fetch(`${harness.url}/.well-known/jwks.json`, { headers: { 'If-None-Match': `"old", W/${etag}` } });
    expect(again.status).toBe(304);
    expect(again.headers.get('etag')).toBe(etag);
    expect(await again.text()).toBe('');
    const stale = await fetch(`${harness.url}/.well-known/jwks.json`, { headers: { 'If-None-Match': '"stale"' } });
    expect(stale.status).toBe(200);
  });
});

describe('key rotation', () => {
  it('publishes a rotated-in key before it signs, then signs with it while old tokens still verify', async () => {
    const oldToken = await issueToken();
    const oldKid = decodeProtectedHeader(oldToken).kid;
    const { response: before } = await fetchJwks();

    const rotated = await harness.cli(['keys', 'rotate']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const { kid: newKid, status } = JSON.parse(rotated.stdout) as { kid: string; status: string };
    expect(newKid).not.toBe(oldKid);
    expect(status).toBe('pending');

    // Published first: verifiers can fetch it before any token carries it.
    await expect.poll(async () => (await fetchJwks()).jwks.keys.map((key) => key.kid), { timeout: 5_000 }).toEqual([newKid, oldKid]);
    expect(decodeProtectedHeader(await issueToken()).kid).toBe(oldKid);
    const { response: after } = await fetchJwks();
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));

    // Then it takes over by itself, on every instance, without a restart.
    await expect.poll(async () => decodeProtectedHeader(await issueToken()).kid, { timeout: 30_000, interval: 500 }).toBe(newKid);
    await expect(verify(oldToken)).resolves.toMatchObject({ protectedHeader: { kid: oldKid } });
    await expect(verify(await issueToken())).resolves.toMatchObject({ protectedHeader: { kid: newKid } });

    const listed = JSON.parse((await harness.cli(['keys', 'list'])).stdout) as { kid: string; purpose: string; status: string }[];
    expect(listed.filter((key) => key.purpose === 'access').map(({ kid, status: state }) => [kid, state])).toEqual([
      [newKid, 'current'],
      [oldKid, 'retired'],
    ]);
    // The refresh keys rotated with them, and none of them is ever published.
    const refreshKeys = listed.filter((key) => key.purpose === 'refresh');
    expect(refreshKeys.map((key) => key.status)).toEqual(['current', 'retired']);
    const published = (await fetchJwks()).jwks.keys.map((key) => key.kid);
    for (const key of refreshKeys) expect(published).not.toContain(key.kid);
  }, 60_000);
});

describe('private keys at rest', () => {
  it('are stored encrypted, never as PEM or JWK', async () => {
    await harness.stop();
    const handle = await openDatabase({ databaseUrl: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR ?? '' });
    const rows = await handle.db.select().from(signingKeys);
    await handle.close();

    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.privateKeySealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
      expect(row.privateKeySealed).not.toMatch(/PRIVATE KEY|"d"|"p"|"q"/);
      expect(Object.keys(row.publicJwk).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    }
  });
});
