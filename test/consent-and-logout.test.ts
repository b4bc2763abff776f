import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedClient } from '../src/clients/client-registry.js';
import { createFlowHarness, ISSUER, locationOf, pathOf, WEB_SIGNED_OUT, type FlowHarness } from './support/authorization-flow.js';
import { hiddenFields, type PageBrowser } from './support/page-browser.js';

/** Consent to third-party clients, withdrawing it, and RP-initiated logout, in-process. */
describe('consent and logout', () => {
  let flow: FlowHarness;
  let web: CreatedClient;
  let spa: CreatedClient;
  let browser: PageBrowser;
  const app = () => flow.harness.app;

  /** Signs in to the third-party client and answers its consent page. */
  async function consentTo(decision: 'allow' | 'deny', extra: Record<string, string> = {}) {
    const { answer, pkce } = await flow.signInThroughPages(browser, spa, extra);
    expect(locationOf(answer).pathname).toBe('/authorize/consent');
    const page = await browser.get(pathOf(answer));
    const text = await page.text();
    const decided = await browser.post('/authorize/consent', { ...hiddenFields(text), decision });
    return { page, text, decided, pkce };
  }

  /** A token for the issuer's own /me endpoints, from the first-party web client. */
  async function accountToken(as = browser, username = 'alice') {
    const { answer, pkce } = await flow.signInThroughPages(as, web, { resource: ISSUER, scope: 'openid profile account' }, username);
    const { body } = await flow.exchange(web, locationOf(answer).searchParams.get('code')!, pkce.verifier);
    return { access: String(body.access_token), id: String(body.id_token), refresh: String(body.refresh_token) };
  }

  beforeAll(async () => {
    flow = await createFlowHarness();
    ({ web, spa } = flow.clients);
  });
  afterAll(() => flow?.harness.close());
  beforeEach(async () => {
    browser = flow.newBrowser();
    // Each test starts with no consent given.
    await flow.harness.database.db.execute('delete from consents');
  });

  describe('consent', () => {
    it('lists what a third-party client asks for in words, and remembers an allow', async () => {
      const { page, text, decided, pkce } = await consentTo('allow');
      expect(page.status).toBe(200);
      expect(text).toContain('Partner dashboard would like to');
      expect(text).toContain('See your name and username');
      expect(text).toContain('orders:read');
      expect(text).toContain('Signed in as Alice Liddell.');
      expect(page.headers.get('Content-Security-Policy')).toContain("form-action 'self' http://127.0.0.1:*");
      const code = locationOf(decided).searchParams.get('code')!;
      expect((await flow.exchange(spa, code, pkce.verifier)).status).toBe(200);

      // Asked once: the same scopes again go straight back with a code, even with prompt=none.
      const again = await browser.get(flow.authorizeUrl(spa, { prompt: 'none' }).url);
      expect(locationOf(again).searchParams.get('code')).toBeTruthy();
    });

    it('a deny goes back to the client as access_denied, and nothing is remembered', async () => {
      const { decided } = await consentTo('deny');
      expect(Object.fromEntries(locationOf(decided).searchParams)).toMatchObject({
        error: 'access_denied',
        state: 'state-123',
        iss: ISSUER,
      });
      const silent = await browser.get(flow.authorizeUrl(spa, { prompt: 'none' }).url);
      expect(locationOf(silent).searchParams.get('error')).toBe('consent_required');
    });

    it('asks again for a scope not yet allowed, and on prompt=consent', async () => {
      await consentTo('allow');
      const wider = await browser.get(flow.authorizeUrl(spa, { scope: 'openid profile orders:read orders:write' }).url);
      expect(locationOf(wider).pathname).toBe('/authorize/consent');
      const page = await (await browser.get(pathOf(wider))).text();
      expect(page).toContain('orders:write');
      const forced = await browser.get(flow.authorizeUrl(spa, { prompt: 'consent' }).url);
      expect(locationOf(forced).pathname).toBe('/authorize/consent');
    });

    it('is never asked of a first-party client', async () => {
      const { answer } = await flow.signInThroughPages(browser, web);
      expect(locationOf(answer).searchParams.get('code')).toBeTruthy();
    });

    it('cannot be given by a forged post, nor by another browser', async () => {
      const { answer } = await flow.signInThroughPages(browser, spa);
      const fields = hiddenFields(await (await browser.get(pathOf(answer))).text());
      const forged = await browser.post('/authorize/consent', { ...fields, csrf: 'x'.repeat(43), decision: 'allow' });
      expect(forged.status).toBe(400);
      const elsewhere = await flow.newBrowser().post('/authorize/consent', { ...fields, decision: 'allow' });
      expect(elsewhere.status).toBe(400);
      const silent = await browser.get(flow.authorizeUrl(spa, { prompt: 'none' }).url);
      expect(locationOf(silent).searchParams.get('error')).toBe('consent_required');
    });

    it('is listed at /me/consents and withdrawn there, ending the client sessions it allowed', async () => {
      const { decided, pkce } = await consentTo('allow');
      const spaTokens = (await flow.exchange(spa, locationOf(decided).searchParams.get('code')!, pkce.verifier)).body;
      const bearer = { Authorization: `Bearer ${(await accountToken(flow.newBrowser())).access}` };
      const listed = (await (await app().request('/me/consents', { headers: bearer })).json()) as Record<string, unknown>[];
      expect(listed).toEqual([
        expect.objectContaining({ client_id: spa.id, client_name: 'Partner dashboard', scopes: ['openid', 'orders:read', 'profile'] }),
      ]);

      const withdrawn = await app().request(`/me/consents/${spa.id}`, { method: 'DELETE', headers: bearer });
      expect(withdrawn.status).toBe(204);
      expect(await (await app().request('/me/consents', { headers: bearer })).json()).toEqual([]);
      const refreshed = await app().request('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(spaTokens.refresh_token), client_id: spa.id }),
      });
      expect(refreshed.status).toBe(400);
      const asked = await browser.get(flow.authorizeUrl(spa, { prompt: 'none' }).url);
      expect(locationOf(asked).searchParams.get('error')).toBe('consent_required');
      expect((await app().request(`/me/consents/${spa.id}`, { method: 'DELETE', headers: bearer })).status).toBe(404);
    });
  });

  describe('the account API is the user’s, not every app’s', () => {
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
    /** A third-party app's tokens after the user allowed it `scope` on the consent page. */
    async function thirdPartyTokens(scope: string) {
      const { decided, pkce, text } = await consentTo('allow', { scope });
      const { status, body } = await flow.exchange(spa, locationOf(decided).searchParams.get('code')!, pkce.verifier);
      expect(status).toBe(200);
      return { access: String(body.access_token), refresh: String(body.refresh_token), consentPage: text };
    }

    it('a third-party app granted openid and profile reads /userinfo without email, and no /me route', async () => {
      const webTokens = await accountToken(flow.newBrowser());
      const { access } = await thirdPartyTokens('openid profile');
      const userinfo = await app().request('/userinfo', { headers: bearer(access) });
      expect(userinfo.status).toBe(200);
      const claims = (await userinfo.json()) as Record<string, unknown>;
      expect(claims).toMatchObject({ sub: flow.userId, preferred_username: 'alice' });
      expect(claims).not.toHaveProperty('email');

      for (const [method, path, body] of [
        ['GET', '/me', undefined],
        ['PATCH', '/me', { full_name: 'Mallory' }],
        ['POST', '/me/password', { current_password: 'x', new_password: 'y'.repeat(20) }],
        ['GET', '/me/sessions', undefined],
        ['DELETE', '/me/sessions', undefined],
        ['GET', '/me/consents', undefined],
        ['DELETE', `/me/consents/${spa.id}`, undefined],
      ] as const) {
        const response = await app().request(path, {
          method,
          headers: { ...bearer(access), ...(body ? { 'Content-Type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        expect([method, path, response.status]).toEqual([method, path, 403]);
        expect(response.headers.get('WWW-Authenticate')).toBe('Bearer realm="token-issuer", error="insufficient_scope", scope="account"');
      }
      // Nothing changed: the user's name, sessions and consent are as they were.
      const me = (await (await app().request('/me', { headers: bearer(webTokens.access) })).json()) as Record<string, unknown>;
      expect(me.full_name).toBe('Alice Liddell');
      expect((await app().request('/me/sessions', { headers: bearer(webTokens.access) })).status).toBe(200);
      const consents = (await (await app().request('/me/consents', { headers: bearer(webTokens.access) })).json()) as unknown[];
      expect(consents).toEqual([expect.objectContaining({ client_id: spa.id })]);
    });

    it('gets the account API only when the user allows “account” in words, and claims still follow scopes', async () => {
      const { access, consentPage } = await thirdPartyTokens('openid account');
      expect(consentPage).toContain('Manage your account');
      const me = await app().request('/me', { headers: bearer(access) });
      expect(me.status).toBe(200);
      const shown = (await me.json()) as Record<string, unknown>;
      expect(shown).toMatchObject({ id: flow.userId, roles: ['user'] });
      expect(shown).not.toHaveProperty('email');
      expect(shown).not.toHaveProperty('username');

      browser = flow.newBrowser();
      const withEmail = await thirdPartyTokens('openid account email');
      const again = (await (await app().request('/me', { headers: bearer(withEmail.access) })).json()) as Record<string, unknown>;
      expect(again).toMatchObject({ email: 'alice@example.com' });
      expect(again).not.toHaveProperty('full_name');
    });

    it('/logout ends only what the calling app holds, whatever refresh token comes with it', async () => {
      const webTokens = await accountToken(flow.newBrowser());
      const third = await thirdPartyTokens('openid');
      const response = await app().request('/logout', {
        method: 'POST',
        headers: { ...bearer(webTokens.access), 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: third.refresh }),
      });
      expect(response.status).toBe(204);
      // The web app's own session ended; the third-party app's goes on.
      const refreshed = await app().request('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: third.refresh, client_id: spa.id }),
      });
      expect(refreshed.status).toBe(200);
    });
  });

  describe('RP-initiated logout', () => {
    it('with a valid id_token_hint ends the browser session, its client sessions, and redirects with state', async () => {
      const tokens = await accountToken();
      const params = new URLSearchParams({ id_token_hint: tokens.id, post_logout_redirect_uri: WEB_SIGNED_OUT, state: 'bye-1' });
      const response = await browser.get(`/session/end?${params}`);
      expect(response.status).toBe(303);
      expect(response.headers.get('Location')).toBe(`${WEB_SIGNED_OUT}?state=bye-1`);
      expect(response.headers.getSetCookie().some((cookie) => /^ti_session=;/.test(cookie))).toBe(true);
      const silent = await browser.get(flow.authorizeUrl(web, { prompt: 'none' }).url);
      expect(locationOf(silent).searchParams.get('error')).toBe('login_required');
      expect((await app().request('/me', { headers: { Authorization: `Bearer ${tokens.access}` } })).status).toBe(401);
    });

    it('without a hint asks first: a cross-site link alone signs nobody out', async () => {
      await accountToken();
      const asked = await browser.get(`/session/end?client_id=${web.id}&post_logout_redirect_uri=${encodeURIComponent(WEB_SIGNED_OUT)}`);
      expect(asked.status).toBe(200);
      const page = await asked.text();
      expect(page).toContain('Web shop asks to sign you out of this browser.');
      expect(page).not.toMatch(/<script/i);
      // Still signed in.
      expect(locationOf(await browser.get(flow.authorizeUrl(web, { prompt: 'none' }).url)).searchParams.get('code')).toBeTruthy();

      // A post without the page's token (another site's form) changes nothing.
      const forged = await browser.post('/session/end/confirm', { decision: 'logout', client_id: web.id });
      expect(forged.status).toBe(400);
      expect(locationOf(await browser.get(flow.authorizeUrl(web, { prompt: 'none' }).url)).searchParams.get('code')).toBeTruthy();

      const confirmed = await browser.post('/session/end/confirm', { ...hiddenFields(page), decision: 'logout' });
      expect(confirmed.status).toBe(303);
      expect(confirmed.headers.get('Location')).toBe(WEB_SIGNED_OUT);
      expect(locationOf(await browser.get(flow.authorizeUrl(web, { prompt: 'none' }).url)).searchParams.get('error')).toBe(
        'login_required',
      );
    });

    it('"stay signed in" keeps the session', async () => {
      await accountToken();
      const page = await (await browser.get('/session/end')).text();
      const stayed = await browser.post('/session/end/confirm', { ...hiddenFields(page), decision: 'stay' });
      expect(await stayed.text()).toContain('You are still signed in.');
      expect(locationOf(await browser.get(flow.authorizeUrl(web, { prompt: 'none' }).url)).searchParams.get('code')).toBeTruthy();
    });

    it.each([
      ['an unregistered post_logout_redirect_uri', { post_logout_redirect_uri: 'https://evil.example/' }, true],
      ['a post_logout_redirect_uri without a client', { post_logout_redirect_uri: WEB_SIGNED_OUT }, false],
      ['a garbage id_token_hint', { id_token_hint: 'not.a.token' }, false],
    ])('refuses %s on a page, and redirects nowhere', async (_case, given: Record<string, string>, withClient) => {
      await accountToken();
      const params = new URLSearchParams({ ...given, ...(withClient ? { client_id: web.id } : {}) });
      const response = await browser.get(`/session/end?${params}`);
      expect(response.status).toBe(400);
      expect(response.headers.get('Location')).toBeNull();
      expect(locationOf(await browser.get(flow.authorizeUrl(web, { prompt: 'none' }).url)).searchParams.get('code')).toBeTruthy();
    });

    it('a hint for another user than the signed-in one asks first', async () => {
      const carols = await accountToken(flow.newBrowser(), 'carol');
      await accountToken();
      const response = await browser.get(`/session/end?id_token_hint=${carols.id}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('Sign out?');
      expect(locationOf(await browser.get(flow.authorizeUrl(web, { prompt: 'none' }).url)).searchParams.get('code')).toBeTruthy();
    });
  });
});
