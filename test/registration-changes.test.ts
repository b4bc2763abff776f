import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { updateClient, type ClientChanges } from '../src/clients/client-store.js';
import { withdrawConsentAndSessions } from '../src/authorization/consents.js';
import { API, createFlowHarness, ISSUER, locationOf, pathOf, PASSWORD, type FlowHarness } from './support/authorization-flow.js';
import { hiddenFields, type PageBrowser } from './support/page-browser.js';

const CALLBACK = 'https://partner.example.com/callback';
const OTHER_CALLBACK = 'https://partner.example.com/other';

/**
 * A sign-in takes minutes and a code lives a minute; what the client may have, and what the user
 * allowed it, may change meanwhile. Each step (login, consent, code exchange) goes by the
 * registration and the consent as they are now (RFC 6749 §3.1.2.2, §3.3; RFC 9700 §4.1).
 */
describe('a registration or consent that changes during a sign-in', () => {
  let flow: FlowHarness;
  let browser: PageBrowser;
  let partner: CreatedClient;
  const db = () => flow.harness.database.db;
  const change = (changes: ClientChanges) => updateClient(db(), partner.id, changes);

  beforeAll(async () => {
    flow = await createFlowHarness();
  });
  afterAll(() => flow?.harness.close());
  beforeEach(async () => {
    browser = flow.newBrowser();
    // A third-party client of this test's own, which each test changes as it likes.
    partner = await createClient(db(), {
      name: 'Partner',
      isPublic: true,
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['openid', 'profile', 'orders:read'],
      audiences: [API, ISSUER],
      redirectUris: [CALLBACK, OTHER_CALLBACK],
    });
  });

  /** Opens the login page for the partner; returns its form, not yet posted. */
  async function openLoginPage(extra: Record<string, string> = {}) {
    const { url, pkce } = flow.authorizeUrl(partner, { redirect_uri: CALLBACK, ...extra });
    const started = await browser.get(url);
    expect(locationOf(started).pathname).toBe('/authorize/login');
    const fields = hiddenFields(await (await browser.get(pathOf(started))).text());
    return { pkce, submit: () => browser.post('/authorize/login', { ...fields, username: 'alice', password: PASSWORD }) };
  }

  /** Signs in and opens the consent page; returns its allow, not yet posted. */
  async function openConsentPage(extra: Record<string, string> = {}) {
    const { pkce, submit } = await openLoginPage(extra);
    const answer = await submit();
    expect(locationOf(answer).pathname).toBe('/authorize/consent');
    const fields = hiddenFields(await (await browser.get(pathOf(answer))).text());
    return { pkce, allow: () => browser.post('/authorize/consent', { ...fields, decision: 'allow' }) };
  }

  async function codeFor(extra: Record<string, string> = {}) {
    const { pkce, allow } = await openConsentPage(extra);
    const answer = await allow();
    const code = locationOf(answer).searchParams.get('code');
    expect(code).toBeTruthy();
    return { code: code!, pkce };
  }

  const exchange = (code: string, verifier: string) => flow.exchange({ ...partner, redirectUris: [CALLBACK] }, code, verifier);

  it('a login page opened before its redirect URI was removed sends nothing there: a page says so', async () => {
    const { submit } = await openLoginPage();
    await change({ redirectUris: [OTHER_CALLBACK] });
    const answer = await submit();
    expect(answer.status).toBe(400);
    expect(answer.headers.get('Location')).toBeNull();
    expect(await answer.text()).toContain('no longer registered');
  });

  it('a login page opened before the client lost a scope goes back with invalid_scope, and no code', async () => {
    const { submit } = await openLoginPage({ scope: 'openid orders:read' });
    await change({ scopes: ['openid', 'profile'] });
    const location = locationOf(await submit());
    expect(location.origin + location.pathname).toBe(CALLBACK);
    expect(Object.fromEntries(location.searchParams)).toMatchObject({ error: 'invalid_scope', state: 'state-123', iss: ISSUER });
    expect(location.searchParams.get('code')).toBeNull();
  });

  it('a consent page opened before the client lost an audience goes back with invalid_target', async () => {
    const { allow } = await openConsentPage({ resource: ISSUER });
    await change({ audiences: [API] });
    const location = locationOf(await allow());
    expect(location.searchParams.get('error')).toBe('invalid_target');
    expect(location.searchParams.get('code')).toBeNull();
  });

  it.each<[string, ClientChanges, string]>([
    ['its redirect URI was removed', { redirectUris: [OTHER_CALLBACK] }, 'invalid_grant'],
    ['the client lost a scope', { scopes: ['openid', 'profile'] }, 'invalid_grant'],
    ['the client lost an audience', { audiences: [API] }, 'invalid_grant'],
    // The token endpoint refuses a grant type the client is not registered for before looking at the code.
    ['the client lost the grant', { grantTypes: ['refresh_token'] }, 'unauthorized_client'],
  ])('a code issued before %s is refused at the token endpoint', async (_case, changes, error) => {
    const { code, pkce } = await codeFor({ scope: 'openid orders:read', resource: ISSUER });
    await change(changes);
    expect(await exchange(code, pkce.verifier)).toMatchObject({ status: 400, body: { error } });
  });

  it('a code issued before the user withdrew consent is refused; one issued after consenting again works', async () => {
    const { code, pkce } = await codeFor();
    await withdrawConsentAndSessions(flow.harness.revocation, flow.userId, partner.id, { ipAddress: undefined });
    expect(await exchange(code, pkce.verifier)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

    browser = flow.newBrowser();
    const again = await codeFor();
    expect((await exchange(again.code, again.pkce.verifier)).status).toBe(200);
  });

  it('a withdrawal racing the exchange of a code leaves no live session behind', async () => {
    for (let round = 0; round < 8; round += 1) {
      browser = flow.newBrowser();
      const { code, pkce } = await codeFor();
      const [exchanged] = await Promise.all([
        exchange(code, pkce.verifier),
        withdrawConsentAndSessions(flow.harness.revocation, flow.userId, partner.id, { ipAddress: undefined }),
      ]);
      if (exchanged.status !== 200) {
        expect(exchanged.body.error).toBe('invalid_grant');
        continue;
      }
      // The exchange won the race: its session was ended with the consent, so its tokens are dead.
      const refreshed = await flow.harness.app.request('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: String(exchanged.body.refresh_token),
          client_id: partner.id,
        }),
      });
      expect(refreshed.status).toBe(400);
      const userinfo = await flow.harness.app.request('/userinfo', {
        headers: { Authorization: `Bearer ${String(exchanged.body.access_token)}` },
      });
      expect(userinfo.status).toBe(401);
    }
  });
});
