import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/clients/client-registry.js';
import { createLogger } from '../src/logger.js';
import { createInProcessApp, type InProcessApp } from './support/in-process-app.js';
import { pkcePair } from './support/page-browser.js';

const ISSUER = 'http://issuer.test';
const WRONG_SECRET = 'a-wrong-secret-that-must-never-be-logged';

/**
 * An operator reads why a request was refused in its log line, whatever form the answer took: a
 * JSON error, a redirect to the client, a page. Never the secret or token that was presented.
 */
describe('refused requests in the log', () => {
  let harness: InProcessApp;
  let client: { id: string; secret: string | undefined };
  const lines: string[] = [];

  beforeAll(async () => {
    harness = await createInProcessApp({
      issuer: ISSUER,
      logger: createLogger('info', { write: (line: string) => void lines.push(line) }),
    });
    const created = await createClient(harness.database.db, {
      name: 'Web shop',
      grantTypes: ['authorization_code', 'client_credentials'],
      scopes: ['openid', 'orders:read'],
      audiences: ['https://orders.test'],
      redirectUris: ['https://shop.example/callback'],
      postLogoutRedirectUris: ['https://shop.example/'],
    });
    client = { id: created.id, secret: created.secret };
  });
  afterAll(async () => {
    await harness?.close();
  });

  /** The access log line of the last request to `path`. */
  function logged(path: string): Record<string, unknown> {
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'request');
    return entries.findLast((entry) => entry.path === path)!;
  }

  it('a token request: the error code and description, never the secret', async () => {
    const response = await harness.app.request('/token', {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${client.id}:${WRONG_SECRET}`).toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(401);
    expect(logged('/token')).toMatchObject({ status: 401, error: 'invalid_client', errorDescription: expect.any(String) });
    expect(lines.join('\n')).not.toContain(WRONG_SECRET);
  });

  it('an authorization request answered at the redirect URI', async () => {
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: 'https://shop.example/callback',
      scope: 'openid',
      state: 'xyz',
    }); // no PKCE
    const response = await harness.app.request(`/authorize?${params}`);
    expect(response.status).toBe(303);
    expect(new URL(response.headers.get('Location')!).searchParams.get('error')).toBe('invalid_request');
    expect(logged('/authorize')).toMatchObject({
      status: 303,
      error: 'invalid_request',
      errorDescription: expect.stringMatching(/code_challenge/),
    });
  });

  it('an authorization request answered with a page, and a successful one without an error', async () => {
    const refused = await harness.app.request(`/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'nobody' })}`);
    expect(refused.status).toBe(400);
    expect(logged('/authorize')).toMatchObject({ status: 400, error: 'invalid_authorization_request' });

    const params = new URLSearchParams({
      response_type: 'code',
      client_id: client.id,
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    });
    expect((await harness.app.request(`/authorize?${params}`)).status).toBe(303);
    expect(logged('/authorize')).not.toHaveProperty('error');
  });

  it('a logout to an address the client did not register (a missing trailing slash)', async () => {
    const params = new URLSearchParams({ client_id: client.id, post_logout_redirect_uri: 'https://shop.example' });
    const response = await harness.app.request(`/session/end?${params}`);
    expect(response.status).toBe(400);
    expect(logged('/session/end')).toMatchObject({
      error: 'invalid_authorization_request',
      errorDescription: expect.stringMatching(/post_logout_redirect_uri/),
    });
  });

  it('a bearer request with a garbage token', async () => {
    const garbage = 'eyJhbGciOiJSUzI1NiJ9.not-a-token.at-all';
    const response = await harness.app.request('/userinfo', { headers: { Authorization: `Bearer ${garbage}` } });
    expect(response.status).toBe(401);
    expect(logged('/userinfo')).toMatchObject({ status: 401, error: 'invalid_token' });
    expect(lines.join('\n')).not.toContain(garbage);
  });
});
