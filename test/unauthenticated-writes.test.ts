import { count, eq } from 'drizzle-orm';
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { JWT_BEARER_ASSERTION } from '../src/clients/client-assertion.js';
import { auditEvents, authorizationRequests } from '../src/db/schema.js';
import { registerUser } from '../src/users/accounts.js';
import { createInProcessApp, createInProcessAppOn, socketFrom, type InProcessApp } from './support/in-process-app.js';
import { hiddenFields, pageBrowser, pkcePair } from './support/page-browser.js';

const ISSUER = 'http://issuer.test';
const CALLBACK = 'https://web.example.com/callback';
const PASSWORD = 'violet cabinet river 7 lantern';
const LIMIT = 5;

/**
 * What anyone can make the issuer write without credentials is bounded per client IP: pending
 * sign-ins (a row for ten minutes each) and refused client authentications (an audit row kept for
 * months when federated). Past the limit: 429 with Retry-After, and nothing written. Bursts of
 * parallel requests, on PostgreSQL when the suite has it.
 */
describe('unauthenticated writes', () => {
  let harness: InProcessApp;
  let web: CreatedClient;
  let machine: CreatedClient;
  const db = () => harness.database.db;
  const from = (ip: string, path: string, init: RequestInit = {}) => harness.app.request(path, init, socketFrom(ip));

  beforeAll(async () => {
    const options = {
      issuer: ISSUER,
      env: { AUTHORIZE_RATE_LIMIT_PER_IP: String(LIMIT), CLIENT_AUTH_MAX_FAILURES_PER_IP: String(LIMIT) },
    };
    harness = (await createInProcessAppOn(true, options)) ?? (await createInProcessApp(options));
    web = await createClient(db(), {
      name: 'web',
      grantTypes: ['authorization_code'],
      scopes: ['openid'],
      audiences: [ISSUER],
      redirectUris: [CALLBACK],
      firstParty: true,
    });
    machine = await createClient(db(), { name: 'machine', grantTypes: ['client_credentials'], scopes: [], audiences: [ISSUER] });
    await registerUser(harness.accounts, { username: 'alice', email: 'alice@example.com' }, PASSWORD);
  });
  afterAll(() => harness?.close());

  const authorizePath = () => {
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: web.id,
      redirect_uri: CALLBACK,
      scope: 'openid',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    });
    return `/authorize?${params}`;
  };
  const pendingRows = async () => (await db().select({ n: count() }).from(authorizationRequests))[0]!.n;

  it('stores at most the limit of pending sign-ins per address from a burst; the rest get a 429 page', async () => {
    const before = await pendingRows();
    const answers = await Promise.all(Array.from({ length: 20 }, () => from('198.51.100.1', authorizePath())));
    const statuses = answers.map((response) => response.status);
    expect(statuses.filter((status) => status === 303)).toHaveLength(LIMIT);
    expect(statuses.filter((status) => status === 429)).toHaveLength(20 - LIMIT);
    const refused = answers.find((response) => response.status === 429)!;
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(refused.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(refused.headers.get('Location')).toBeNull();
    expect(await pendingRows()).toBe(before + LIMIT);
    // Another address is not held back.
    expect((await from('198.51.100.2', authorizePath())).status).toBe(303);
  });

  it('does not count a browser already signed in: single sign-on stores nothing', async () => {
    const ip = '198.51.100.3';
    const browser = pageBrowser((path, init) => from(ip, path, init));
    const started = new URL((await browser.get(authorizePath())).headers.get('Location')!, ISSUER);
    const login = await browser.get(started.pathname + started.search);
    await browser.post('/authorize/login', { ...hiddenFields(await login.text()), username: 'alice', password: PASSWORD });
    for (let i = 1; i < LIMIT; i += 1) await from(ip, authorizePath());
    expect((await from(ip, authorizePath())).status).toBe(429);
    const signedIn = await browser.get(authorizePath());
    expect(new URL(signedIn.headers.get('Location')!).searchParams.get('code')).toBeTruthy();
  });

  it('writes at most the limit of audit rows for forged upstream callbacks from a burst; the rest get a 429 page', async () => {
    const refusals = async () =>
      (await db().select({ n: count() }).from(auditEvents).where(eq(auditEvents.type, 'upstream_sign_in_refused')))[0]!.n;
    const before = await refusals();
    const ip = '198.51.100.9';
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        from(ip, `/authorize/callback?state=forged-${i}&code=x`, { headers: { Cookie: 'ti_browser=b' } }),
      ),
    );
    const statuses = answers.map((response) => response.status).sort();
    expect(statuses).toEqual([...Array(LIMIT).fill(400), ...Array(20 - LIMIT).fill(429)]);
    expect(await refusals()).toBe(before + LIMIT);
  });

  it('writes at most the limit of audit rows for refused client authentications from a burst; the rest get 429', async () => {
    const stranger = await generateKeyPair('RS256');
    const assertion = () =>
      new SignJWT({ jti: crypto.randomUUID() })
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer('https://unknown-platform.example')
        .setSubject('workload')
        .setAudience(ISSUER)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(stranger.privateKey);
    const refusals = async () =>
      (await db().select({ n: count() }).from(auditEvents).where(eq(auditEvents.type, 'client_authentication_failed')))[0]!.n;
    const before = await refusals();
    const ip = '203.0.113.9';
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () =>
        from(ip, '/token', {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_assertion_type: JWT_BEARER_ASSERTION,
            client_assertion: await assertion(),
          }),
        }),
      ),
    );
    const statuses = answers.map((response) => response.status).sort();
    expect(statuses).toEqual([...Array(LIMIT).fill(401), ...Array(20 - LIMIT).fill(429)]);
    expect(await refusals()).toBe(before + LIMIT);

    // Wrong secrets count too; a right one from the same address still works.
    const token = (secret: string) =>
      from(ip, '/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: machine.id, client_secret: secret }),
      });
    const wrong = await token('not-the-secret');
    expect([wrong.status, Number(wrong.headers.get('Retry-After')) > 0]).toEqual([429, true]);
    expect((await token(machine.secret!)).status).toBe(200);
  });
});
