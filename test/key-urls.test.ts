import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/clients/client-registry.js';
import { registerUser } from '../src/users/accounts.js';
import { createInProcessApp, passwordSignIn, type InProcessApp } from './support/in-process-app.js';

const ISSUER = 'https://issuer.test';
const PASSWORD = 'a long and proper passphrase';

/**
 * Key URLs others register (a client's jwks_uri, a trusted issuer's) are fetched by the issuer: never
 * a link-local or metadata address, and in production no loopback host unless an operator lists it
 * (KEY_URL_LOOPBACK_HOSTS). Refused at registration, through the admin API as through the CLI.
 */
describe('key URLs in production', () => {
  let harness: InProcessApp;
  let admin: string;

  beforeAll(async () => {
    harness = await createInProcessApp({
      issuer: ISSUER,
      env: {
        NODE_ENV: 'production',
        KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        // Required in production; the harness brings its own database.
        DATABASE_URL: 'postgres://unused.invalid/tokens',
        KEY_URL_LOOPBACK_HOSTS: '127.0.0.1:8443',
      },
    });
    const operatorApp = await createClient(harness.database.db, {
      name: 'console',
      grantTypes: ['password'],
      scopes: ['admin'],
      audiences: [ISSUER],
    });
    await registerUser(harness.accounts, { username: 'root', email: 'root@example.com', roles: ['admin', 'user'] }, PASSWORD);
    const response = await passwordSignIn(harness, operatorApp, { username: 'root', password: PASSWORD, scope: 'admin' });
    admin = ((await response.json()) as { access_token: string }).access_token;
  });
  afterAll(() => harness?.close());

  const post = async (path: string, body: unknown) => {
    const response = await harness.app.request(path, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return [response.status, ((await response.json()) as { error_description?: string }).error_description ?? 'created'];
  };
  const client = (jwksUri: string) =>
    post('/admin/clients', {
      name: 'reports',
      grant_types: ['client_credentials'],
      audiences: ['https://reports.test'],
      auth_methods: ['private_key_jwt'],
      jwks_uri: jwksUri,
    });
  const issuer = (jwksUri: string) =>
    post('/admin/federation/issuers', {
      issuer: `https://ci-${randomBytes(4).toString('hex')}.example`,
      jwks_uri: jwksUri,
      audience: ISSUER,
    });

  it.each(['https://169.254.169.254/latest/meta-data/', 'https://[::ffff:169.254.169.254]/jwks', 'https://metadata.google.internal/jwks'])(
    'refuses %s, a metadata address, for a client and a trusted issuer',
    async (url) => {
      for (const [status, message] of [await client(url), await issuer(url)]) {
        expect(status).toBe(400);
        expect(message).toContain('never a link-local or metadata address');
      }
    },
  );

  it('refuses a loopback host in production, unless listed', async () => {
    for (const url of ['http://localhost:3000/jwks', 'https://127.0.0.1:9443/jwks']) {
      expect(await client(url)).toEqual([400, expect.stringContaining('not fetched in production')]);
      expect(await issuer(url)).toEqual([400, expect.stringContaining('not fetched in production')]);
    }
    expect(await client('http://127.0.0.1:8443/jwks')).toEqual([201, 'created']);
    expect(await issuer('https://keys.example.com/jwks')).toEqual([201, 'created']);
  });
});
