import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CreatedClient } from '../src/clients/client-registry.js';
import { registerUser } from '../src/users/accounts.js';
import {
  API,
  createFlowHarness,
  ISSUER,
  locationOf,
  pathOf,
  PASSWORD,
  WEB_CALLBACK,
  type FlowHarness,
} from './support/authorization-flow.js';
import type { InProcessApp } from './support/in-process-app.js';
import { hiddenFields, pkcePair, type PageBrowser } from './support/page-browser.js';

/**
 * The authorization code flow in-process: every rule of the endpoint, the login page and the code
 * exchange that a client or a user would notice. Consent and logout are in consent-and-logout.test.ts;
 * the same flow in a real browser with a real relying party in authorization-code.browser.test.ts.
 */
describe('authorization code flow', () => {
  let flow: FlowHarness;
  let harness: InProcessApp;
  let web: CreatedClient;
  let spa: CreatedClient;
  let internal: CreatedClient;
  let machine: CreatedClient;
  let userId: string;
  let browser: PageBrowser;
  const authorizeUrl: FlowHarness['authorizeUrl'] = (...args) => flow.authorizeUrl(...args);
  const exchange: FlowHarness['exchange'] = (...args) => flow.exchange(...args);
  const verifyAgainstJwks: FlowHarness['verifyAgainstJwks'] = (...args) => flow.verifyAgainstJwks(...args);
  const signInThroughPages = (client: CreatedClient, extra: Record<string, string> = {}, as = browser) =>
    flow.signInThroughPages(as, client, extra);
  const json = async (response: Response) => (await response.json()) as Record<string, unknown>;

  beforeAll(async () => {
    flow = await createFlowHarness();
    ({ harness, userId } = flow);
    ({ web, spa, internal, machine } = flow.clients);
  });
  afterAll(() => harness?.close());
  beforeEach(() => {
    flow.setClockAhead(0);
    browser = flow.newBrowser();
  });

  describe('the request', () => {
    it('is advertised in the metadata: code only, S256 only, iss in responses, an end-session endpoint', async () => {
      const metadata = await json(await harness.app.request('/.well-known/openid-configuration'));
      expect(metadata).toMatchObject({
        authorization_endpoint: `${ISSUER}/authorize`,
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        code_challenge_methods_supported: ['S256'],
        prompt_values_supported: ['none', 'login', 'consent'],
        authorization_response_iss_parameter_supported: true,
        end_session_endpoint: `${ISSUER}/session/end`,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        claims_parameter_supported: false,
        subject_types_supported: ['public'],
      });
      expect(metadata.grant_types_supported).toContain('authorization_code');
    });

    it.each([
      ['an unknown client', (url: URLSearchParams) => url.set('client_id', 'nobody')],
      ['a redirect URI the client did not register', (url: URLSearchParams) => url.set('redirect_uri', 'https://evil.example/callback')],
      ['a registered URI with something added', (url: URLSearchParams) => url.set('redirect_uri', `${WEB_CALLBACK}?x=1`)],
      ['no redirect URI when none is registered', (url: URLSearchParams) => url.delete('redirect_uri')],
    ])('shows an error page for %s, and redirects nowhere', async (_case, change) => {
      const params = new URL(authorizeUrl(web).url, ISSUER).searchParams;
      change(params);
      if (_case.startsWith('no redirect')) params.set('client_id', internal.id);
      const response = await browser.get(`/authorize?${params}`);
      expect(response.status).toBe(400);
      expect(response.headers.get('Location')).toBeNull();
      expect(response.headers.get('Content-Type')).toContain('text/html');
      const page = await response.text();
      expect(page).toContain('Something went wrong');
      expect(page).not.toContain('evil.example');
    });

    it.each([
      ['no PKCE challenge', { code_challenge: '' }, 'invalid_request'],
      ['the plain PKCE method', { code_challenge_method: 'plain' }, 'invalid_request'],
      ['another response type', { response_type: 'token' }, 'unsupported_response_type'],
      ['a request object', { request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported'],
      ['a request_uri', { request_uri: 'urn:example:request' }, 'request_uri_not_supported'],
      ['a scope the client may not have', { scope: 'openid admin' }, 'invalid_scope'],
      ['an unknown prompt', { prompt: 'select_account' }, 'invalid_request'],
      ['prompt=none without a signed-in browser', { prompt: 'none' }, 'login_required'],
    ])('sends %s back to the client as an error, with state and iss', async (_case, extra, error) => {
      const response = await browser.get(authorizeUrl(web, extra).url);
      expect(response.status).toBe(303);
      const location = locationOf(response);
      expect(location.origin + location.pathname).toBe(WEB_CALLBACK);
      expect(Object.fromEntries(location.searchParams)).toMatchObject({ error, state: 'state-123', iss: ISSUER });
      expect(location.searchParams.get('code')).toBeNull();
    });

    it('refuses a client not registered for the flow, at its redirect URI', async () => {
      const location = locationOf(await browser.get(authorizeUrl(machine).url));
      expect(location.searchParams.get('error')).toBe('unauthorized_client');
    });

    it('refuses a repeated parameter on a page', async () => {
      const response = await browser.get(`${authorizeUrl(web).url}&scope=openid`);
      expect(response.status).toBe(400);
      expect(response.headers.get('Location')).toBeNull();
    });

    it('takes the request by POST too (OpenID Connect Core §3.1.2.1)', async () => {
      const { url } = authorizeUrl(web);
      const response = await browser.post('/authorize', Object.fromEntries(new URL(url, ISSUER).searchParams));
      expect(response.status).toBe(303);
      expect(locationOf(response).pathname).toBe('/authorize/login');
    });
  });

  describe('the login page', () => {
    it('is a product page: a labelled form, autocomplete, only its own script, a strict CSP, not cached', async () => {
      const started = await browser.get(authorizeUrl(web, { login_hint: 'alice' }).url);
      const response = await browser.get(pathOf(started));
      const page = await response.text();
      expect(page).toContain('<html lang="en">');
      expect(page).toContain('Sign in to continue to Web shop');
      expect(page).toContain('Example Corp');
      expect(page).toMatch(/<label for="username">/);
      expect(page).toMatch(/autocomplete="username webauthn"/); // passwords and passkeys offered in autofill
      expect(page).toMatch(/autocomplete="current-password"/);
      expect(page).toContain('value="alice"'); // login_hint
      // One script, the passkey one, from a file of the issuer's; nothing inline.
      expect([...page.matchAll(/<script[^>]*>/gi)].map((tag) => tag[0])).toEqual(['<script src="/pages/passkey.js" defer>']);
      const csp = response.headers.get('Content-Security-Policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("form-action 'self' https://web.example.com");
      expect(csp).not.toContain('unsafe-inline');
      expect(response.headers.get('Cache-Control')).toBe('no-store');
      const css = await harness.app.request('/pages/style.css');
      expect(css.headers.get('Content-Type')).toContain('text/css');
      expect(await css.text()).toContain('--accent: #2563eb');
    });

    it('sets a browser binding cookie that is HttpOnly and SameSite=Lax', async () => {
      const response = await browser.get(authorizeUrl(web).url);
      const cookie = response.headers.getSetCookie().find((header) => header.startsWith('ti_browser='));
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Lax/);
    });

    it('says the same for a wrong password and an unknown user, and changes nothing', async () => {
      const started = await browser.get(authorizeUrl(web).url);
      const page = await (await browser.get(pathOf(started))).text();
      const fields = hiddenFields(page);
      const wrong = await browser.post('/authorize/login', { ...fields, username: 'alice', password: 'not the password at all' });
      const unknown = await browser.post('/authorize/login', { ...fields, username: 'nobody', password: 'not the password at all' });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      const [wrongPage, unknownPage] = [await wrong.text(), await unknown.text()];
      expect(wrongPage).toContain('The username or password is incorrect.');
      expect(unknownPage).toContain('The username or password is incorrect.');
      expect(wrongPage).toContain('role="alert"');
      expect(browser.cookies.has('ti_session')).toBe(false);
      // The request is still pending: the right password now works.
      const right = await browser.post('/authorize/login', { ...hiddenFields(wrongPage), username: 'alice', password: PASSWORD });
      expect(right.status).toBe(303);
      expect(locationOf(right).searchParams.get('code')).toBeTruthy();
    });

    it('refuses a post without its anti-forgery token, or from another browser', async () => {
      const started = await browser.get(authorizeUrl(web).url);
      const fields = hiddenFields(await (await browser.get(pathOf(started))).text());
      const noToken = await browser.post('/authorize/login', { request: fields.request!, username: 'alice', password: PASSWORD });
      expect(noToken.status).toBe(400);
      expect(await noToken.text()).toContain('This form has expired or was not sent by this browser.');
      const forged = await browser.post('/authorize/login', { ...fields, csrf: 'A'.repeat(43), username: 'alice', password: PASSWORD });
      expect(forged.status).toBe(400);
      // Another browser (an attacker's page posting the victim's request id and token) has no binding.
      const other = flow.newBrowser();
      const elsewhere = await other.post('/authorize/login', { ...fields, username: 'alice', password: PASSWORD });
      expect(elsewhere.status).toBe(400);
      expect(browser.cookies.has('ti_session')).toBe(false);
      expect(other.cookies.has('ti_session')).toBe(false);
    });

    it('throttles after the account limit with 429 and Retry-After, even for the right password', async () => {
      const throttled = await registerUser(harness.accounts, { username: 'bob', email: 'bob@example.com' }, PASSWORD);
      const started = await browser.get(authorizeUrl(web).url);
      let fields = hiddenFields(await (await browser.get(pathOf(started))).text());
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const response = await browser.post('/authorize/login', { ...fields, username: 'bob', password: 'wrong password entirely' });
        expect(response.status).toBe(401);
        fields = hiddenFields(await response.text());
      }
      const blocked = await browser.post('/authorize/login', { ...fields, username: 'bob', password: PASSWORD });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('Retry-After'))).toBeGreaterThan(0);
      expect(await blocked.text()).toMatch(/Too many attempts/);
      expect(browser.cookies.has('ti_session')).toBe(false);
      const failures = await harness.database.db.execute(
        `select count(*)::int as n from audit_events where user_id = '${throttled.id}' and type = 'sign_in_throttled'`,
      );
      expect(JSON.stringify(failures)).toContain('1');
    });
  });

  describe('codes', () => {
    it('signs in a confidential client: code, state and iss back; tokens with nonce, auth_time and sid', async () => {
      const { answer, pkce } = await signInThroughPages(web);
      expect(answer.status).toBe(303);
      const session = answer.headers.getSetCookie().find((header) => header.startsWith('ti_session='));
      expect(session).toMatch(/HttpOnly/);
      expect(session).toMatch(/SameSite=Lax/);
      const location = locationOf(answer);
      expect(location.origin + location.pathname).toBe(WEB_CALLBACK);
      expect(location.searchParams.get('state')).toBe('state-123');
      expect(location.searchParams.get('iss')).toBe(ISSUER);
      const code = location.searchParams.get('code')!;
      expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const { status, body } = await exchange(web, code, pkce.verifier);
      expect(status).toBe(200);
      const access = await verifyAgainstJwks(String(body.access_token), API);
      // With openid granted, the issuer's /userinfo is an audience too (issuer-resources.ts).
      expect(access.aud).toEqual([API, ISSUER, `${ISSUER}/userinfo`]);
      expect(access).toMatchObject({ sub: userId, client_id: web.id, scope: 'openid profile orders:read' });
      const id = await verifyAgainstJwks(String(body.id_token), web.id);
      expect(id).toMatchObject({ sub: userId, nonce: 'nonce-456', name: 'Alice Liddell', sid: access.sid });
      expect(Math.abs(Number(id.auth_time) - Date.now() / 1000)).toBeLessThan(30);
      expect(body.refresh_token).toBeTruthy();
    });

    it('signs in a public client with PKCE alone (loopback redirect on any port, RFC 8252 §7.3)', async () => {
      const { answer, pkce } = await signInThroughPages(spa, { redirect_uri: 'http://127.0.0.1:51234/callback' });
      // A third-party client: the consent page first.
      expect(locationOf(answer).pathname).toBe('/authorize/consent');
      const consent = await browser.get(locationOf(answer).pathname + locationOf(answer).search);
      const decided = await browser.post('/authorize/consent', { ...hiddenFields(await consent.text()), decision: 'allow' });
      const location = locationOf(decided);
      expect(location.origin).toBe('http://127.0.0.1:51234');
      const { status, body } = await exchange(spa, location.searchParams.get('code')!, pkce.verifier, {
        redirect_uri: 'http://127.0.0.1:51234/callback',
      });
      expect(status).toBe(200);
      expect(decodeJwt(String(body.access_token)).client_id).toBe(spa.id);
    });

    it.each([
      ['no verifier', { code_verifier: '' }],
      ['the wrong verifier', { code_verifier: pkcePair().verifier }],
      ['another redirect_uri', { redirect_uri: 'https://web.example.com/other' }],
      ['another client', {}],
    ])('refuses the exchange with %s (invalid_grant)', async (_case, extra) => {
      const { answer, pkce } = await signInThroughPages(web);
      const code = locationOf(answer).searchParams.get('code')!;
      const changed = _case === 'another client' ? { client_id: internal.id, client_secret: internal.secret! } : extra;
      const refused = await exchange(web, code, pkce.verifier, changed);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_grant');
      // Refused without being spent: the right request still works.
      expect((await exchange(web, code, pkce.verifier)).status).toBe(200);
    });

    it('refuses an expired code (60 s)', async () => {
      const { answer, pkce } = await signInThroughPages(web);
      flow.setClockAhead(61_000);
      const refused = await exchange(web, locationOf(answer).searchParams.get('code')!, pkce.verifier);
      expect(refused.body.error).toBe('invalid_grant');
    });

    it('a code presented twice fails, and the tokens of the first exchange stop working', async () => {
      const { answer, pkce } = await signInThroughPages(web);
      const code = locationOf(answer).searchParams.get('code')!;
      const first = await exchange(web, code, pkce.verifier);
      expect(first.status).toBe(200);
      const second = await exchange(web, code, pkce.verifier);
      expect(second.body.error).toBe('invalid_grant');

      const refreshed = await harness.app.request('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: String(first.body.refresh_token),
          client_id: web.id,
          client_secret: web.secret!,
        }),
      });
      expect(refreshed.status).toBe(400);
      const userinfo = await harness.app.request('/userinfo', { headers: { Authorization: `Bearer ${String(first.body.access_token)}` } });
      expect(userinfo.status).toBe(401);
    });

    it('of concurrent exchanges of one code, exactly one wins and none leaves a live session', async () => {
      const { answer, pkce } = await signInThroughPages(web);
      const code = locationOf(answer).searchParams.get('code')!;
      const results = await Promise.all(Array.from({ length: 6 }, () => exchange(web, code, pkce.verifier)));
      expect(results.filter((result) => result.status === 200).length).toBeLessThanOrEqual(1);
      expect(results.filter((result) => result.status >= 500)).toEqual([]);
      for (const result of results.filter((r) => r.status === 200)) {
        const userinfo = await harness.app.request('/userinfo', {
          headers: { Authorization: `Bearer ${String(result.body.access_token)}` },
        });
        expect(userinfo.status).toBe(401);
      }
    });

    it('a second post of the same login form gets no second code', async () => {
      const { url } = authorizeUrl(web);
      const started = await browser.get(url);
      const fields = hiddenFields(await (await browser.get(pathOf(started))).text());
      const first = await browser.post('/authorize/login', { ...fields, username: 'alice', password: PASSWORD });
      expect(locationOf(first).searchParams.get('code')).toBeTruthy();
      const again = await browser.post('/authorize/login', { ...fields, username: 'alice', password: PASSWORD });
      expect(again.status).toBe(400);
    });
  });

  describe('single sign-on', () => {
    it('signs in a second client without a password; prompt=none works; auth_time stays the sign-in', async () => {
      const { answer, pkce: first } = await signInThroughPages(web);
      const signedIn = decodeJwt(String((await exchange(web, locationOf(answer).searchParams.get('code')!, first.verifier)).body.id_token));
      flow.setClockAhead(2_000);
      const pkce = pkcePair();
      const silent = await browser.get(authorizeUrl(internal, { redirect_uri: 'https://tool.example.com/b', prompt: 'none' }, pkce).url);
      const location = locationOf(silent);
      expect(location.origin + location.pathname).toBe('https://tool.example.com/b');
      const { body } = await exchange(internal, location.searchParams.get('code')!, pkce.verifier, {
        redirect_uri: 'https://tool.example.com/b',
      });
      const id = decodeJwt(String(body.id_token));
      expect(id.sub).toBe(userId);
      expect(id.aud).toBe(internal.id);
      expect(id.auth_time).toBe(signedIn.auth_time);
      expect(Number(id.iat)).toBeGreaterThan(Number(signedIn.auth_time));
    });

    it('prompt=login and an exceeded max_age ask for the password again', async () => {
      await signInThroughPages(web);
      const forced = await browser.get(authorizeUrl(web, { prompt: 'login' }).url);
      expect(locationOf(forced).pathname).toBe('/authorize/login');
      flow.setClockAhead(2_000);
      const tooOld = await browser.get(authorizeUrl(web, { max_age: '1' }).url);
      expect(locationOf(tooOld).pathname).toBe('/authorize/login');
      const silentTooOld = await browser.get(authorizeUrl(web, { max_age: '1', prompt: 'none' }).url);
      expect(locationOf(silentTooOld).searchParams.get('error')).toBe('login_required');
      const recentEnough = await browser.get(authorizeUrl(web, { max_age: '60' }).url);
      expect(locationOf(recentEnough).searchParams.get('code')).toBeTruthy();
    });

    it('is listed in /me/sessions; ending it there signs the browser out and ends its client sessions', async () => {
      const { answer, pkce } = await signInThroughPages(web, { resource: ISSUER, scope: 'openid profile account' });
      const { body } = await exchange(web, locationOf(answer).searchParams.get('code')!, pkce.verifier);
      const bearer = { Authorization: `Bearer ${String(body.access_token)}` };
      const list = await harness.app.request('/me/sessions', { headers: bearer });
      expect(list.status).toBe(200);
      const sessions = (await list.json()) as {
        id: string;
        kind: string;
        client_id: string | null;
        current: boolean;
        browser_session_id: string | null;
      }[];
      const browserSession = sessions.find((session) => session.kind === 'browser' && session.current);
      expect(browserSession).toMatchObject({ client_id: null });
      const clientSession = sessions.find((session) => session.kind === 'client' && session.current);
      expect(clientSession).toMatchObject({ client_id: web.id, browser_session_id: browserSession!.id });

      const ended = await harness.app.request(`/me/sessions/${browserSession!.id}`, { method: 'DELETE', headers: bearer });
      expect(ended.status).toBe(204);
      const silent = locationOf(await browser.get(authorizeUrl(web, { prompt: 'none' }).url));
      expect(silent.searchParams.get('error')).toBe('login_required');
      // The client session started from it ended too: its access token is revoked.
      expect((await harness.app.request('/me', { headers: bearer })).status).toBe(401);
    });

    it('log out everywhere signs every browser out', async () => {
      const { answer, pkce } = await signInThroughPages(web, { resource: ISSUER, scope: 'openid profile account' });
      const { body } = await exchange(web, locationOf(answer).searchParams.get('code')!, pkce.verifier);
      const other = flow.newBrowser();
      await signInThroughPages(web, {}, other);
      const everywhere = await harness.app.request('/me/sessions', {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${String(body.access_token)}` },
      });
      expect(everywhere.status).toBe(204);
      for (const each of [browser, other]) {
        expect(locationOf(await each.get(authorizeUrl(web, { prompt: 'none' }).url)).searchParams.get('error')).toBe('login_required');
      }
    });
  });
});
