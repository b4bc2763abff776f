import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACR_MULTI_FACTOR } from '@token-issuer/verifier';
import { ACCOUNT_CLIENT_ID } from '../src/clients/account-client.js';
import { findClient } from '../src/clients/client-registry.js';
import { totpCodeAt } from './support/totp.js';
import { text } from '../src/pages/page-text.js';
import { registerUser } from '../src/users/accounts.js';
import { findUserById } from '../src/users/user-store.js';
import { API, createFlowHarness, ISSUER, locationOf, pathOf, PASSWORD, type FlowHarness } from './support/authorization-flow.js';
import type { InProcessApp } from './support/in-process-app.js';
import { hiddenFields, type PageBrowser } from './support/page-browser.js';

/**
 * The account page in-process: it signs its user in through the issuer's own code flow, shows and
 * changes what the account API does, asks for a recent sign-in before changing how the account
 * signs in, and refuses forged forms. In Chromium: test/e2e/passkeys-browser.e2e.test.ts.
 */
let flow: FlowHarness;
let harness: InProcessApp;
let users = 0;

beforeAll(async () => {
  flow = await createFlowHarness();
  harness = flow.harness;
});
afterAll(() => harness?.close());
beforeEach(() => flow.setClockAhead(0));

async function newUser() {
  users += 1;
  const username = `account-user-${users}`;
  const user = await registerUser(harness.accounts, { username, email: `${username}@example.com` }, PASSWORD);
  return { id: user.id, username };
}

/** Follows redirects within the issuer, answering the login page with the user's password. */
async function follow(browser: PageBrowser, response: Response, username: string): Promise<Response> {
  let current = response;
  for (let hops = 0; hops < 10 && current.status === 303; hops += 1) {
    const next = locationOf(current);
    if (next.origin !== ISSUER) return current;
    if (next.pathname === '/authorize/login') {
      const page = await (await browser.get(pathOf(current))).text();
      current = await browser.post('/authorize/login', { ...hiddenFields(page), username, password: PASSWORD });
    } else {
      current = await browser.get(pathOf(current));
    }
  }
  return current;
}

/** A browser signed in to the account page: its HTML. */
async function openAccount(username: string, browser = flow.newBrowser()) {
  const page = await follow(browser, await browser.get('/account'), username);
  expect(page.status).toBe(200);
  return { browser, page: await page.text() };
}

/** The hidden fields of the page's form that posts to `action` (in the list item that says `item`). */
function formFields(page: string, action: string, item?: string): Record<string, string> {
  const scope = item === undefined ? page : ([...page.matchAll(/<li>([\s\S]*?)<\/li>/g)].find((li) => li[1]!.includes(item))?.[1] ?? '');
  const form = [...scope.matchAll(/<form method="post" action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)].find((found) => found[1] === action);
  expect(form, `no form for ${action}`).toBeDefined();
  return hiddenFields(form![2]!);
}

describe('the account page', () => {
  it('signs in through the issuer as its own first-party client with PKCE, and shows the account', async () => {
    const user = await newUser();
    const browser = flow.newBrowser();
    const first = await browser.get('/account');
    expect(first.status).toBe(303);
    const authorize = locationOf(first);
    expect(authorize.pathname).toBe('/authorize');
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: ACCOUNT_CLIENT_ID,
      redirect_uri: `${ISSUER}/account/callback`,
      code_challenge_method: 'S256',
      scope: 'openid profile email account',
    });
    expect(await findClient(harness.database.db, ACCOUNT_CLIENT_ID)).toMatchObject({ firstParty: true, isPublic: true });
    const { page } = await openAccount(user.username, browser);
    expect(page).toContain(text.accountSignedInAs(user.username));
    expect(page).toContain(text.methodsNone);
    expect(page).toContain(text.sessionThisBrowser);
    // The token lives in an HttpOnly cookie of the issuer, never in the page.
    expect(browser.cookies.has('ti_account')).toBe(true);
    expect(page).not.toContain(browser.cookies.get('ti_account'));
  });

  it('refuses a callback whose state is not the one it sent, and an answer without its PKCE cookie', async () => {
    const browser = flow.newBrowser();
    await browser.get('/account');
    expect((await browser.get(`/account/callback?code=abc&state=forged&iss=${encodeURIComponent(ISSUER)}`)).status).toBe(400);
    expect((await flow.newBrowser().get(`/account/callback?code=abc&state=x&iss=${encodeURIComponent(ISSUER)}`)).status).toBe(400);
    const garbage = flow.newBrowser();
    garbage.cookies.set('ti_account', 'not-a-token');
    expect(locationOf(await garbage.get('/account')).pathname).toBe('/authorize');
  });

  it('changes the name, and refuses a form without its anti-forgery token', async () => {
    const user = await newUser();
    const { browser, page } = await openAccount(user.username);
    const saved = await browser.post('/account/profile', { ...formFields(page, '/account/profile'), full_name: 'Dana Scully' });
    expect(saved.status).toBe(200);
    expect(await saved.text()).toContain(text.saved);
    expect((await findUserById(harness.database.db, user.id))?.fullName).toBe('Dana Scully');
    const forged = await browser.post('/account/profile', { csrf: 'forged', full_name: 'Mallory' });
    expect(forged.status).toBe(400);
    expect((await findUserById(harness.database.db, user.id))?.fullName).toBe('Dana Scully');
  });

  it('adds an authenticator app with its QR code and first code, shows the recovery codes once, and removes it', async () => {
    const user = await newUser();
    const { browser } = await openAccount(user.username);
    const enrol = await (await browser.get('/account/authenticator')).text();
    expect(enrol).toContain('<svg');
    const secret = /<code class="secret">([A-Z2-7 ]+)<\/code>/.exec(enrol)![1]!.replace(/ /g, '');
    const fields = formFields(enrol, '/account/authenticator');
    const wrong = await browser.post('/account/authenticator', { ...fields, code: 'abcdef' });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain(text.invalidCode);
    const codes = await browser.post('/account/authenticator', { ...fields, code: totpCodeAt(secret, flow.now()) });
    expect(codes.status).toBe(200);
    expect([...(await codes.text()).matchAll(/<li><code>([0-9a-z]{6}-[0-9a-z]{6})<\/code><\/li>/g)]).toHaveLength(10);

    const page = await (await browser.get('/account')).text();
    expect(page).toContain(text.methodKind.totp);
    expect(page).toContain(text.recoveryCodesLeft(10));
    // The page's own session was signed in with the password alone; adding the app kept it, but
    // changing methods again needs the second factor: a sign-in asking for it.
    const removal = await browser.post('/account/factors/remove', formFields(page, '/account/factors/remove'));
    expect(removal.status).toBe(303);
    const again = locationOf(removal);
    expect([again.pathname, again.searchParams.get('prompt'), again.searchParams.get('acr_values')]).toEqual([
      '/authorize',
      'login',
      ACR_MULTI_FACTOR,
    ]);
  });

  it('asks for a new sign-in before a change when the last one is over five minutes old, then lets it through', async () => {
    const user = await newUser();
    const { browser } = await openAccount(user.username);
    // Six minutes on, by the issuer's clock: the token still works, its sign-in is too old to change methods.
    flow.setClockAhead(6 * 60_000);
    const stale = await browser.get('/account/passkey');
    expect(stale.status).toBe(303);
    expect(locationOf(stale).searchParams.get('prompt')).toBe('login');
    expect(locationOf(stale).searchParams.has('acr_values')).toBe(false);
    flow.setClockAhead(0);
    const back = await follow(browser, stale, user.username);
    expect([back.status, back.headers.get('Location')]).toEqual([200, null]); // back at /account, signed in afresh
    const passkey = await browser.get('/account/passkey');
    expect(passkey.status).toBe(200);
    expect(passkey.headers.get('Content-Security-Policy')).toContain("script-src 'self'");
    expect(await passkey.text()).toContain('id="passkey-register-form"');
  });

  it('changes the password with the current one, ending the other sessions', async () => {
    const user = await newUser();
    const elsewhere = flow.newBrowser();
    await flow.signInThroughPages(elsewhere, flow.clients.web, {}, user.username);
    const { browser, page } = await openAccount(user.username);
    const fields = formFields(page, '/account/password');
    const wrong = await browser.post('/account/password', { ...fields, current_password: 'not it at all', new_password: `${PASSWORD} 2` });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain(text.invalidCredentials);
    const changed = await browser.post('/account/password', { ...fields, current_password: PASSWORD, new_password: `${PASSWORD} 2` });
    expect(changed.status).toBe(200);
    expect(await changed.text()).toContain(text.passwordChanged);
    const silent = await elsewhere.get(flow.authorizeUrl(flow.clients.web, { prompt: 'none' }).url);
    expect(locationOf(silent).searchParams.get('error')).toBe('login_required');
  });

  it('makes an API key shown once, lists it without the key, and revokes it with its tokens', async () => {
    const user = await newUser();
    const { browser, page } = await openAccount(user.username);
    expect(page).toContain(text.apiKeysNone);
    const fields = formFields(page, '/account/api-keys');
    const refused = await browser.post('/account/api-keys', {
      ...fields,
      name: 'ci',
      audience: 'https://elsewhere.example',
      expires_in: '2592000',
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('Audiences no client is registered for');

    const made = await browser.post('/account/api-keys', {
      ...fields,
      name: 'ci',
      scopes: 'orders:read',
      audience: API,
      expires_in: '2592000',
    });
    expect(made.status).toBe(200);
    const key = /<code>(tik_[0-9A-Za-z]{49})<\/code>/.exec(await made.text())![1]!;
    const exchange = () =>
      harness.app.request('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: key,
          subject_token_type: 'urn:token-issuer:params:oauth:token-type:api-key',
        }),
      });
    expect((await exchange()).status).toBe(200);

    const listed = await (await browser.get('/account')).text();
    expect(listed).toContain('<strong>ci</strong> · orders:read');
    expect(listed).not.toContain(key);
    const revoked = await browser.post('/account/api-keys/revoke', formFields(listed, '/account/api-keys/revoke', 'ci'));
    expect(await revoked.text()).toContain(text.apiKeysNone);
    expect((await exchange()).status).toBe(400);
  });

  it('lists where the user is signed in and the apps they allowed, and ends or withdraws them', async () => {
    const user = await newUser();
    const elsewhere = flow.newBrowser();
    await flow.signInThroughPages(elsewhere, flow.clients.web, {}, user.username);
    const spa = flow.clients.spa;
    const { url } = flow.authorizeUrl(spa);
    const consent = await (await elsewhere.get(pathOf(await elsewhere.get(url)))).text();
    await elsewhere.post('/authorize/consent', { ...hiddenFields(consent), decision: 'allow' });

    const { browser, page } = await openAccount(user.username);
    expect(page).toContain('Partner dashboard');
    const withdrawn = await browser.post('/account/apps/withdraw', formFields(page, '/account/apps/withdraw'));
    expect(await withdrawn.text()).not.toContain('Partner dashboard');
    const ended = await browser.post('/account/sessions/end', formFields(page, '/account/sessions/end', text.sessionBrowser));
    expect(ended.status).toBe(200);
    const silent = await elsewhere.get(flow.authorizeUrl(flow.clients.web, { prompt: 'none' }).url);
    expect(locationOf(silent).searchParams.get('error')).toBe('login_required');
    // This browser is still signed in.
    expect((await browser.get('/account')).status).toBe(200);
  });
});
