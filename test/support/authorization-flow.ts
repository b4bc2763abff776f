import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { expect } from 'vitest';
import { createClient, type CreatedClient } from '../../src/clients/client-registry.js';
import { registerUser } from '../../src/users/accounts.js';
import { createInProcessApp, createInProcessAppOn, type InProcessApp, type InProcessAppOptions } from './in-process-app.js';
import { hiddenFields, pageBrowser, pkcePair, type PageBrowser } from './page-browser.js';

export const ISSUER = 'http://issuer.test';
export const API = 'https://orders.test';
export const PASSWORD = 'violet cabinet river 7 lantern';
export const WEB_CALLBACK = 'https://web.example.com/callback';
export const WEB_SIGNED_OUT = 'https://web.example.com/signed-out';
const SPA_CALLBACK = 'http://127.0.0.1/callback';

/**
 * The issuer in-process (app.request; PostgreSQL when the suite has it) with the clients of the
 * authorization code tests, a user, a clock that can be moved ahead, and the steps a browser and
 * a client take. Each test gets a fresh browser with `newBrowser()`.
 */
export async function createFlowHarness(extra: Pick<InProcessAppOptions, 'env' | 'mailer'> = {}) {
  let offsetMs = 0;
  const options = {
    issuer: ISSUER,
    ...extra,
    env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_FAILURE_WINDOW_SECONDS: '600', ISSUER_DISPLAY_NAME: 'Example Corp', ...extra.env },
    now: () => new Date(Date.now() + offsetMs),
  };
  const harness: InProcessApp = (await createInProcessAppOn(true, options)) ?? (await createInProcessApp(options));
  const db = harness.database.db;
  const common = { scopes: ['openid', 'profile', 'email', 'account', 'orders:read', 'orders:write'], audiences: [API, ISSUER] };
  const clients = {
    /** Confidential, first-party. */
    web: await createClient(db, {
      name: 'Web shop',
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: [WEB_CALLBACK],
      postLogoutRedirectUris: [WEB_SIGNED_OUT],
      firstParty: true,
      ...common,
    }),
    /** Public, third-party: users consent to it. */
    spa: await createClient(db, {
      name: 'Partner dashboard',
      isPublic: true,
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: [SPA_CALLBACK],
      ...common,
    }),
    /** First-party, two redirect URIs. */
    internal: await createClient(db, {
      name: 'Internal tool',
      grantTypes: ['authorization_code'],
      redirectUris: ['https://tool.example.com/a', 'https://tool.example.com/b'],
      firstParty: true,
      ...common,
    }),
    /** Not registered for the flow. */
    machine: await createClient(db, { name: 'Batch', grantTypes: ['client_credentials'], redirectUris: [WEB_CALLBACK], ...common }),
  };
  const user = await registerUser(harness.accounts, { username: 'alice', email: 'alice@example.com', fullName: 'Alice Liddell' }, PASSWORD);
  await registerUser(harness.accounts, { username: 'carol', email: 'carol@example.com' }, PASSWORD);
  const send = (path: string, init: RequestInit) => harness.app.request(path, init);

  function authorizeUrl(client: CreatedClient, extra: Record<string, string> = {}, pkce = pkcePair()) {
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: client.redirectUris[0]!,
      scope: 'openid profile orders:read',
      state: 'state-123',
      nonce: 'nonce-456',
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
      ...extra,
    });
    return { url: `/authorize?${params}`, pkce };
  }

  /** Authorize, sign in at the login page, and come back with the answer to the login form. */
  async function signInThroughPages(browser: PageBrowser, client: CreatedClient, extra: Record<string, string> = {}, username = 'alice') {
    const { url, pkce } = authorizeUrl(client, extra);
    const started = await browser.get(url);
    expect(started.status).toBe(303);
    expect(locationOf(started).pathname).toBe('/authorize/login');
    const page = await browser.get(pathOf(started));
    expect(page.status).toBe(200);
    const answer = await browser.post('/authorize/login', { ...hiddenFields(await page.text()), username, password: PASSWORD });
    return { answer, pkce };
  }

  async function exchange(client: CreatedClient, code: string, verifier: string, extra: Record<string, string> = {}) {
    const response = await harness.app.request('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: client.redirectUris[0]!,
        client_id: client.id,
        ...(client.secret ? { client_secret: client.secret } : {}),
        ...extra,
      }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function verifyAgainstJwks(token: string, audience: string) {
    const jwks = (await (await harness.app.request('/.well-known/jwks.json')).json()) as JSONWebKeySet;
    return (await jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER, audience, algorithms: ['RS256'] })).payload;
  }

  return {
    harness,
    clients,
    userId: user.id,
    newBrowser: () => pageBrowser(send),
    /** Moves the issuer's clock this far ahead of the real one (0: back in step). */
    setClockAhead: (ms: number) => (offsetMs = ms),
    /** The issuer's clock. */
    now: options.now,
    authorizeUrl,
    signInThroughPages,
    exchange,
    verifyAgainstJwks,
  };
}

export type FlowHarness = Awaited<ReturnType<typeof createFlowHarness>>;

export const locationOf = (response: Response) => new URL(response.headers.get('Location') ?? '', ISSUER);
/** The issuer-relative path and query of a redirect, for the next request. */
export const pathOf = (response: Response) => locationOf(response).pathname + locationOf(response).search;
