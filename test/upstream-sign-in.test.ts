import { eq } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { decodeJwt, importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACR_MULTI_FACTOR } from '@token-issuer/verifier';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { auditEvents, identityProviders } from '../src/db/schema.js';
import { createLogger } from '../src/logger.js';
import { createOutbound } from '../src/outbound/outbound-fetch.js';
import { outboundPolicyFrom } from '../src/outbound/outbound-policy.js';
import { text } from '../src/pages/page-text.js';
import { addProvider, providerJson, removeProvider, type ProviderDependencies } from '../src/upstream/providers.js';
import { findLinkedIdentity, findProviderByName } from '../src/upstream/provider-store.js';
import { linkUpstreamAccount, unlinkUpstreamAccount } from '../src/upstream/upstream-accounts.js';
import { registerUser } from '../src/users/accounts.js';
import { findUserById, findUserByLogin, setUserPassword } from '../src/users/user-store.js';
import { startGithubStandIn } from './support/github-standin.js';
import { createUpstreamClients } from '../src/upstream/upstream-clients.js';
import { createFlowHarness, ISSUER, locationOf, pathOf, PASSWORD, WEB_CALLBACK, type FlowHarness } from './support/authorization-flow.js';
import { passwordSignIn, type InProcessApp } from './support/in-process-app.js';
import type { PageBrowser } from './support/page-browser.js';
import { startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream.js';

/**
 * Upstream sign-in in-process, each check attacked on its own against a scripted provider: PKCE
 * and client authentication sent, `iss` (mix-up), the id token's key and nonce, replay, the user
 * cancelling, the provider removed or down mid-way, and the provider's MFA counted only when its
 * `amr` says so. The real provider in Chromium: test/e2e/upstream-sign-in.e2e.test.ts.
 */
const CLIENT_ID = 'token-issuer-test';
let flow: FlowHarness;
let harness: InProcessApp;
let web: CreatedClient;
let upstream: ScriptedUpstream;
let providers: ProviderDependencies;
let codes = 0;

beforeAll(async () => {
  flow = await createFlowHarness();
  harness = flow.harness;
  web = flow.clients.web;
  upstream = await startScriptedUpstream(CLIENT_ID);
  const outbound = createOutbound(outboundPolicyFrom({ env: 'test', keyUrlLoopbackHosts: [] }));
  providers = {
    db: harness.database.db,
    logger: createLogger('silent'),
    keyEncryptionKey: harness.keyEncryptionKey,
    outbound,
    upstream: createUpstreamClients({ keyEncryptionKey: harness.keyEncryptionKey, outbound }),
    issuer: ISSUER,
  };
  await addProvider(
    providers,
    { name: 'scripted', type: 'oidc', issuer: upstream.issuer, clientId: CLIENT_ID, clientSecret: 'upstream-secret', allowSignup: true },
    { actor: 'test' },
  );
});
afterAll(async () => {
  await harness?.close();
  await upstream?.close();
});

/** To the provider from the login page: the browser, the client's PKCE pair, and what the provider is asked. */
async function toUpstream(extra: Record<string, string> = {}, provider = 'scripted') {
  const browser = flow.newBrowser();
  const { url, pkce } = flow.authorizeUrl(web, { scope: 'openid profile', ...extra });
  const page = await (await browser.get(pathOf(await browser.get(url)))).text();
  const links = [...page.matchAll(/href="(\/authorize\/upstream\?[^"]+)"/g)].map((match) => match[1]!.replace(/&amp;/g, '&'));
  const link = links.find((found) => new URLSearchParams(found.split('?')[1]).get('provider') === provider)!;
  const sent = await browser.get(link);
  expect(sent.status).toBe(303);
  return { browser, pkce, asked: locationOf(sent).searchParams, at: locationOf(sent) };
}

/** The provider's answer, as its redirect would bring the browser back (GitHub's with no `iss`). */
function callback(browser: PageBrowser, asked: URLSearchParams, answer: { code?: string; iss?: string | null; error?: string } = {}) {
  const params = new URLSearchParams({ state: asked.get('state')! });
  if (answer.iss !== null) params.set('iss', answer.iss ?? upstream.issuer);
  if (answer.error) params.set('error', answer.error);
  else params.set('code', answer.code!);
  return browser.get(`/authorize/callback?${params}`);
}

function newCode(asked: URLSearchParams, claims: Record<string, unknown>, options: { foreignKey?: boolean } = {}) {
  codes += 1;
  const code = `code-${codes}`;
  upstream.script(code, { claims: { nonce: asked.get('nonce'), ...claims }, ...options });
  return code;
}

const refusals = () =>
  harness.database.db.select({ details: auditEvents.details }).from(auditEvents).where(eq(auditEvents.type, 'upstream_sign_in_refused'));

describe('the admin API', () => {
  it('registers a provider by discovery, shows no secret, refuses a second of the same name, and removes it; audited', async () => {
    const console = await createClient(harness.database.db, {
      name: 'Console',
      grantTypes: ['password'],
      scopes: ['admin'],
      audiences: [ISSUER],
    });
    const admin = await registerUser(
      harness.accounts,
      { username: 'root', email: 'root@example.com', roles: ['admin'] },
      'a passphrase long enough',
    );
    const signedIn = await passwordSignIn(harness, console, {
      username: admin.username,
      password: 'a passphrase long enough',
      scope: 'admin',
    });
    const token = String(((await signedIn.json()) as { access_token: string }).access_token);
    const call = (method: string, path: string, body?: unknown) =>
      harness.app.request(path, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const body = { name: 'via-api', type: 'oidc', issuer: upstream.issuer, client_id: CLIENT_ID, client_secret: 'a-secret-never-shown' };
    const created = await call('POST', '/admin/providers', body);
    expect(created.status).toBe(201);
    const shown = await created.text();
    expect(JSON.parse(shown)).toMatchObject({ name: 'via-api', has_client_secret: true, redirect_uri: `${ISSUER}/authorize/callback` });
    expect(shown).not.toContain('a-secret-never-shown');
    expect((await call('POST', '/admin/providers', body)).status).toBe(409);
    const nowhere = await call('POST', '/admin/providers', { ...body, name: 'nowhere', issuer: 'http://127.0.0.1:9' });
    expect([nowhere.status, ((await nowhere.json()) as { error: string }).error]).toEqual([400, 'invalid_request']);
    const listed = (await (await call('GET', '/admin/providers')).json()) as { items: { name: string }[] };
    expect(listed.items.map((item) => item.name)).toContain('via-api');
    expect((await call('DELETE', '/admin/providers/via-api')).status).toBe(204);
    expect((await call('DELETE', '/admin/providers/via-api')).status).toBe(404);
    const events = await harness.database.db.select().from(auditEvents).where(eq(auditEvents.type, 'identity_provider_added'));
    expect(events.at(-1)).toMatchObject({ actor: `user:${admin.id}`, details: { name: 'via-api', issuer: upstream.issuer } });
  });
});

describe('a provider that is the only way in (--exclusive)', () => {
  it('makes the password of its users no way in, at the login page and the password grant, and says why', async () => {
    await addProvider(
      providers,
      {
        name: 'workforce',
        type: 'oidc',
        issuer: upstream.issuer,
        clientId: CLIENT_ID,
        clientSecret: 'upstream-secret',
        allowSignup: true,
        exclusive: true,
      },
      { actor: 'test' },
    );
    try {
      const { browser, asked } = await toUpstream({}, 'workforce');
      await callback(browser, asked, { code: newCode(asked, { sub: 'wf-1', email: 'olga@corp.test', email_verified: true }) });
      const olga = (await findUserByLogin(harness.database.db, 'olga@corp.test'))!;
      // Even a password set later (through a reset) does not sign her in.
      await setUserPassword(harness.database.db, olga.id, await harness.accounts.hasher.hash(PASSWORD));
      const page = await flow.signInThroughPages(flow.newBrowser(), web, {}, 'olga@corp.test');
      expect(page.answer.status).toBe(401);
      expect(await page.answer.text()).toContain('This account signs in with Workforce.');
      const kiosk = await createClient(harness.database.db, {
        name: 'Kiosk',
        grantTypes: ['password'],
        scopes: ['openid'],
        audiences: [ISSUER],
      });
      const grant = await passwordSignIn(harness, kiosk, { username: 'olga@corp.test', password: PASSWORD });
      expect([grant.status, ((await grant.json()) as { error: string }).error]).toEqual([400, 'invalid_grant']);
      const failures = await harness.database.db.select().from(auditEvents).where(eq(auditEvents.userId, olga.id));
      expect(failures.filter((event) => event.type === 'sign_in_failed').map((event) => event.details)).toEqual([
        { reason: 'exclusive_provider' },
        { reason: 'exclusive_provider' },
      ]);
    } finally {
      await removeProvider(providers, 'workforce', { actor: 'test' });
    }
  });
});

describe('private_key_jwt towards a provider', () => {
  it('makes a key for the provider, shows only its public half, and signs client assertions with it (RFC 7523)', async () => {
    const row = await addProvider(
      providers,
      { name: 'keyed', type: 'oidc', issuer: upstream.issuer, clientId: CLIENT_ID, privateKeyJwt: true, allowSignup: true },
      { actor: 'test' },
    );
    try {
      const shown = providerJson(row, ISSUER, harness.keyEncryptionKey);
      expect(shown).toMatchObject({ client_auth: 'private_key_jwt', has_client_secret: false });
      const publicKey = shown.client_jwks!.keys[0]!;
      expect(publicKey).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' });
      expect(publicKey).not.toHaveProperty('d');

      const { browser, asked } = await toUpstream({}, 'keyed');
      const back = await callback(browser, asked, {
        code: newCode(asked, { sub: 'kj-1', email: 'pia@upstream.test', email_verified: true }),
      });
      expect(locationOf(back).origin + locationOf(back).pathname).toBe(WEB_CALLBACK);
      const request = upstream.tokenRequests.at(-1)!;
      expect(request.get('client_secret')).toBeNull();
      expect(request.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      const { payload, protectedHeader } = await jwtVerify(request.get('client_assertion')!, await importJWK(publicKey, 'ES256'));
      expect(protectedHeader.kid).toBe(publicKey.kid);
      expect(payload).toMatchObject({ iss: CLIENT_ID, sub: CLIENT_ID });
      expect([payload.aud].flat()).toContain(upstream.issuer);
      expect(payload.jti).toBeTruthy();
      await expect(
        addProvider(
          providers,
          { name: 'both', type: 'oidc', issuer: upstream.issuer, clientId: CLIENT_ID, privateKeyJwt: true, clientSecret: 'x' },
          { actor: 'test' },
        ),
      ).rejects.toMatchObject({ code: 'invalid_request' });
    } finally {
      await removeProvider(providers, 'keyed', { actor: 'test' });
    }
  });
});

describe('GitHub', () => {
  it('signs in with OAuth 2.0 and PKCE, then its API: the numeric id as sub, the verified primary email', async () => {
    const github = await startGithubStandIn({ id: 'gh-client', secret: 'gh-secret' });
    try {
      await addProvider(
        providers,
        { name: 'github', type: 'github', issuer: github.base, clientId: 'gh-client', clientSecret: 'gh-secret', allowSignup: true },
        { actor: 'test' },
      );
      const { browser, pkce, asked, at } = await toUpstream({}, 'github');
      expect(at.origin + at.pathname).toBe(`${github.base}/login/oauth/authorize`);
      expect(asked.get('scope')).toBe('read:user user:email');
      expect(asked.get('code_challenge_method')).toBe('S256');
      github.issueCode('gh-code-1');
      const back = await callback(browser, asked, { code: 'gh-code-1', iss: null });
      expect(locationOf(back).origin + locationOf(back).pathname).toBe(WEB_CALLBACK);

      const [token, user, emails] = github.requests;
      expect(token!.path).toBe('/login/oauth/access_token');
      expect(createHash('sha256').update(token!.form!.get('code_verifier')!).digest('base64url')).toBe(asked.get('code_challenge'));
      expect(token!.headers.accept).toContain('application/json');
      for (const call of [user!, emails!]) {
        expect(call.headers).toMatchObject({ accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' });
        expect(call.headers['user-agent']).toBeTruthy();
      }
      const tokens = (await flow.exchange(web, locationOf(back).searchParams.get('code')!, pkce.verifier)).body;
      const created = await findUserById(harness.database.db, String(decodeJwt(String(tokens.id_token)).sub));
      expect(created).toMatchObject({ username: 'octo-cat', email: 'octo@github.test', fullName: 'Octo Cat' });
      const provider = (await findProviderByName(harness.database.db, 'github'))!;
      expect(await findLinkedIdentity(harness.database.db, provider.id, '4242')).toMatchObject({ userId: created!.id });
    } finally {
      await removeProvider(providers, 'github', { actor: 'test' });
      await github.close();
    }
  });
});

describe('linking and unlinking', () => {
  const deps = () => ({ accounts: harness.accounts, logger: createLogger('silent'), now: () => new Date() });

  it('never links an upstream account that signs in to someone else, and keeps an account its one way in', async () => {
    const { browser, asked } = await toUpstream();
    await callback(browser, asked, { code: newCode(asked, { sub: 'up-link', email: 'max@upstream.test', email_verified: true }) });
    const max = (await findUserByLogin(harness.database.db, 'max@upstream.test'))!;
    const provider = (await findProviderByName(harness.database.db, 'scripted'))!;
    const other = await registerUser(harness.accounts, { username: 'nell', email: 'nell@example.com' }, 'a passphrase long enough');
    const claims = { sub: 'up-link', email: 'max@upstream.test', email_verified: true };
    await expect(linkUpstreamAccount(deps(), provider, claims, other.id, { clientId: 'test', ipAddress: undefined })).rejects.toMatchObject(
      {
        code: 'access_denied',
      },
    );
    // Made by the provider, with no password set: unlinking would lock its owner out.
    await expect(unlinkUpstreamAccount(deps(), max, 'scripted', { ipAddress: undefined })).rejects.toMatchObject({
      code: 'last_sign_in_method',
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const withPassword = await setUserPassword(harness.database.db, max.id, await harness.accounts.hasher.hash('a new passphrase here'));
    await unlinkUpstreamAccount(deps(), { id: max.id, passwordChangedAt: withPassword.passwordChangedAt }, 'scripted', {
      ipAddress: undefined,
    });
    expect(await findLinkedIdentity(harness.database.db, provider.id, 'up-link')).toBeUndefined();
  });
});

describe('signing in through an upstream provider', () => {
  it('asks with PKCE, a state and a nonce, authenticates as its client, and signs in by the upstream sub', async () => {
    const { browser, pkce, asked } = await toUpstream();
    expect(Object.fromEntries(asked)).toMatchObject({
      client_id: CLIENT_ID,
      redirect_uri: `${ISSUER}/authorize/callback`,
      response_type: 'code',
      code_challenge_method: 'S256',
      scope: 'openid email profile',
    });
    const code = newCode(asked, { sub: 'up-1', email: 'hal@upstream.test', email_verified: true, name: 'Hal' });
    const back = await callback(browser, asked, { code });
    expect(locationOf(back).origin + locationOf(back).pathname).toBe(WEB_CALLBACK);
    const request = upstream.tokenRequests.at(-1)!;
    expect(createHash('sha256').update(request.get('code_verifier')!).digest('base64url')).toBe(asked.get('code_challenge'));
    expect([request.get('client_id'), request.get('client_secret')]).toEqual([CLIENT_ID, 'upstream-secret']);
    const tokens = (await flow.exchange(web, locationOf(back).searchParams.get('code')!, pkce.verifier)).body;
    const id = decodeJwt(String(tokens.id_token));
    expect([id.amr, id.idp]).toEqual([['fed'], 'scripted']);
    expect(decodeJwt(String(tokens.access_token))).toMatchObject({ amr: ['fed'], idp: 'scripted' });

    // The same upstream account, again: the same user, whatever its email says now.
    const again = await toUpstream();
    const second = await callback(again.browser, again.asked, {
      code: newCode(again.asked, { sub: 'up-1', email: 'other@upstream.test' }),
    });
    const tokensAgain = (await flow.exchange(web, locationOf(second).searchParams.get('code')!, again.pkce.verifier)).body;
    expect(decodeJwt(String(tokensAgain.id_token)).sub).toBe(id.sub);
  });

  it('refuses a callback naming another issuer (mix-up, RFC 9207), a forged id token, and a replayed nonce; each audited', async () => {
    const before = (await refusals()).length;
    const mixUp = await toUpstream();
    const code = newCode(mixUp.asked, { sub: 'up-2', email: 'ian@upstream.test', email_verified: true });
    const refusedMixUp = await callback(mixUp.browser, mixUp.asked, { code, iss: 'https://accounts.evil.example' });
    expect(refusedMixUp.status).toBe(403);
    expect(await refusedMixUp.text()).toContain('could not be verified');

    const forged = await toUpstream();
    const forgedCode = newCode(forged.asked, { sub: 'up-2', email: 'ian@upstream.test', email_verified: true }, { foreignKey: true });
    expect((await callback(forged.browser, forged.asked, { code: forgedCode })).status).toBe(403);

    const replayed = await toUpstream();
    const otherNonce = newCode(replayed.asked, {
      sub: 'up-2',
      nonce: 'a-nonce-of-another-sign-in',
      email: 'ian@upstream.test',
      email_verified: true,
    });
    expect((await callback(replayed.browser, replayed.asked, { code: otherNonce })).status).toBe(403);
    expect((await refusals()).slice(before).map((row) => (row.details as { reason: string }).reason)).toEqual([
      'invalid_response',
      'invalid_response',
      'invalid_response',
    ]);
    // None of them made an account.
    const fresh = await toUpstream();
    const refusedAsNew = await callback(fresh.browser, fresh.asked, { code: newCode(fresh.asked, { sub: 'up-2' }) });
    expect(await refusedAsNew.text()).toContain('did not vouch');
  });

  it('takes a callback once, and only in the browser that went upstream; the others are audited', async () => {
    const before = (await refusals()).length;
    const { browser, asked } = await toUpstream();
    const code = newCode(asked, { sub: 'up-3', email: 'jo@upstream.test', email_verified: true });
    expect((await callback(flow.newBrowser(), asked, { code })).status).toBe(400);
    expect((await callback(browser, asked, { code })).status).toBe(303);
    expect((await callback(browser, asked, { code })).status).toBe(400);
    expect((await refusals()).slice(before).map((row) => (row.details as { reason: string }).reason)).toEqual([
      'unknown_state',
      'unknown_state',
    ]);
  });

  it('never signs in to an existing account by its email, even one the provider claims unverified', async () => {
    for (const verified of [false, true]) {
      const { browser, asked } = await toUpstream();
      const code = newCode(asked, { sub: `claims-alice-${verified}`, email: 'alice@example.com', email_verified: verified });
      const refused = await callback(browser, asked, { code });
      expect(refused.status).toBe(403);
      expect(browser.cookies.has('ti_session')).toBe(false);
    }
    const provider = (await findProviderByName(harness.database.db, 'scripted'))!;
    expect(await findLinkedIdentity(harness.database.db, provider.id, 'claims-alice-true')).toBeUndefined();
  });

  it('sends access_denied with the client state back when the user cancels at the provider', async () => {
    const { browser, asked } = await toUpstream();
    const back = await callback(browser, asked, { error: 'access_denied' });
    expect(locationOf(back).origin + locationOf(back).pathname).toBe(WEB_CALLBACK);
    expect(Object.fromEntries(locationOf(back).searchParams)).toMatchObject({ error: 'access_denied', state: 'state-123' });
  });

  it('counts the provider’s MFA only when its amr says so; otherwise a client asking for MFA gets the second step', async () => {
    const withMfa = await toUpstream({ acr_values: ACR_MULTI_FACTOR });
    const mfa = newCode(withMfa.asked, { sub: 'up-4', email: 'kim@upstream.test', email_verified: true, amr: ['pwd', 'mfa'] });
    const back = await callback(withMfa.browser, withMfa.asked, { code: mfa });
    const tokens = (await flow.exchange(web, locationOf(back).searchParams.get('code')!, withMfa.pkce.verifier)).body;
    const id = decodeJwt(String(tokens.id_token));
    expect([id.amr, id.acr, id.idp]).toEqual([['fed', 'mfa'], ACR_MULTI_FACTOR, 'scripted']);

    const without = await toUpstream({ acr_values: ACR_MULTI_FACTOR });
    const plain = newCode(without.asked, { sub: 'up-5', email: 'lee@upstream.test', email_verified: true, amr: ['pwd'] });
    const next = await callback(without.browser, without.asked, { code: plain });
    expect(pathOf(next)).toMatch(/^\/authorize\/enrol\?request=/);
  });

  it('says so on the login page when the provider was removed meanwhile, or does not answer', async () => {
    const { browser, asked } = await toUpstream();
    const temporary = await addProvider(
      providers,
      { name: 'temporary', type: 'oidc', issuer: upstream.issuer, clientId: CLIENT_ID, clientSecret: 'upstream-secret' },
      { actor: 'test' },
    );
    await removeProvider(providers, 'scripted', { actor: 'test' });
    try {
      const removed = await callback(browser, asked, { code: newCode(asked, { sub: 'up-6' }) });
      expect(removed.status).toBe(403);
      expect(await removed.text()).toContain('removed meanwhile');
    } finally {
      await removeProvider(providers, temporary.name, { actor: 'test' });
      await addProvider(
        providers,
        {
          name: 'scripted',
          type: 'oidc',
          issuer: upstream.issuer,
          clientId: CLIENT_ID,
          clientSecret: 'upstream-secret',
          allowSignup: true,
        },
        { actor: 'test' },
      );
    }
    const down = await addProvider(
      providers,
      { name: 'gone', type: 'oidc', issuer: upstream.issuer, clientId: CLIENT_ID },
      { actor: 'test' },
    );
    // Its issuer moved to a port where nothing listens: the provider is down.
    await providers.db.update(identityProviders).set({ issuer: 'http://127.0.0.1:9' }).where(eq(identityProviders.name, down.name));
    const browser2 = flow.newBrowser();
    const { url } = flow.authorizeUrl(web);
    const page = await (await browser2.get(pathOf(await browser2.get(url)))).text();
    const link = /href="(\/authorize\/upstream\?[^"]*provider=gone[^"]*)"/.exec(page)![1]!.replace(/&amp;/g, '&');
    const unavailable = await browser2.get(link);
    expect(unavailable.status).toBe(503);
    expect(await unavailable.text()).toContain(text.unavailable);
    await removeProvider(providers, 'gone', { actor: 'test' });
  });
});
