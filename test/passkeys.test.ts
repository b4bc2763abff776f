import { decodeJwt } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACR_MULTI_FACTOR } from '@token-issuer/verifier';
import type { CreatedClient } from '../src/clients/client-registry.js';
import { text } from '../src/pages/page-text.js';
import { registerUser } from '../src/users/accounts.js';
import { createFlowHarness, ISSUER, locationOf, pathOf, PASSWORD, WEB_CALLBACK, type FlowHarness } from './support/authorization-flow.js';
import type { InProcessApp } from './support/in-process-app.js';
import { hiddenFields, passkeyForm, type PageBrowser } from './support/page-browser.js';
import { softwareAuthenticator } from './support/software-authenticator.js';

/**
 * Passkeys in-process, each rule of the relying party attacked on its own with a software
 * authenticator: registration, sign-in with the passkey alone (user verification required),
 * as a second factor, challenges single use and bound to their sign-in, the issuer's origin only,
 * the signature counter. The real ceremony in Chromium: test/e2e/passkeys-browser.e2e.test.ts.
 */
const RP = { id: new URL(ISSUER).hostname, origin: ISSUER };

let flow: FlowHarness;
let harness: InProcessApp;
let web: CreatedClient;
let users = 0;

beforeAll(async () => {
  flow = await createFlowHarness();
  harness = flow.harness;
  web = flow.clients.web;
});
afterAll(() => harness?.close());
beforeEach(() => flow.setClockAhead(0));

const json = async (response: Response) => (await response.json()) as Record<string, unknown>;
const post = (path: string, token: string, body: unknown = {}) =>
  harness.app.request(path, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

/** A new user, signed in with the password: their access token (with `account`). */
async function newUser() {
  users += 1;
  const username = `passkey-user-${users}`;
  const user = await registerUser(harness.accounts, { username, email: `${username}@example.com` }, PASSWORD);
  const browser = flow.newBrowser();
  const { answer, pkce } = await flow.signInThroughPages(browser, web, { scope: 'openid account' }, username);
  const exchanged = await flow.exchange(web, locationOf(answer).searchParams.get('code')!, pkce.verifier);
  return { id: user.id, username, accessToken: String(exchanged.body.access_token) };
}

/** A user with a passkey registered through the account API, and the authenticator that holds it. */
async function userWithPasskey() {
  const user = await newUser();
  const authenticator = softwareAuthenticator(RP);
  const options = await json(await post('/me/passkeys/registration', user.accessToken));
  const added = await post('/me/passkeys', user.accessToken, { name: 'Laptop', response: authenticator.create(String(options.challenge)) });
  expect(added.status).toBe(201);
  return { ...user, authenticator, added: await json(added) };
}

/** The login page of a new sign-in: the browser, the PKCE pair, and the passkey form the page carries. */
async function atLoginPage(browser = flow.newBrowser()) {
  const { url, pkce } = flow.authorizeUrl(web, { scope: 'openid account' });
  const page = await (await browser.get(pathOf(await browser.get(url)))).text();
  return { browser, pkce, page, passkey: passkeyForm(page)! };
}

const postPasskey = (browser: PageBrowser, fields: Record<string, string>, credential: unknown) =>
  browser.post('/authorize/passkey', { ...fields, credential: JSON.stringify(credential) });

describe('registering a passkey through the account API', () => {
  it('gives options for a discoverable, user-verified credential and stores the answer once; the first comes with recovery codes', async () => {
    const user = await newUser();
    const options = await json(await post('/me/passkeys/registration', user.accessToken));
    expect(options).toMatchObject({
      rp: { id: 'issuer.test', name: 'Example Corp' },
      user: { name: user.username },
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      attestation: 'none',
    });
    // The user handle is the account's id, never its name or email.
    expect(Buffer.from(String((options.user as { id: string }).id), 'base64url').toString()).toBe(user.id);

    const authenticator = softwareAuthenticator(RP);
    const answer = authenticator.create(String(options.challenge));
    const added = await post('/me/passkeys', user.accessToken, { name: 'Laptop', response: answer });
    expect(added.status).toBe(201);
    const body = await json(added);
    expect(body).toMatchObject({ kind: 'passkey', name: 'Laptop', last_used_at: null });
    expect(body.recovery_codes).toHaveLength(10);
    const listed = await json(await harness.app.request('/me/factors', { headers: { Authorization: `Bearer ${user.accessToken}` } }));
    expect(listed).toMatchObject({ factors: [{ id: body.id, kind: 'passkey', name: 'Laptop' }], recovery_codes_left: 10 });
    expect(JSON.stringify(listed)).not.toContain(authenticator.id);
  });

  it('refuses an answer to no open registration, one from another origin, one without user verification, and garbage', async () => {
    const user = await newUser();
    const authenticator = softwareAuthenticator(RP);
    const refusal = async (response: unknown) => {
      const answer = await post('/me/passkeys', user.accessToken, { response });
      return [answer.status, (await json(answer)).error];
    };
    expect(await refusal(authenticator.create('bm8tc3VjaC1jaGFsbGVuZ2UtaXNzdWVk'))).toEqual([400, 'invalid_passkey']);
    const open = async () => String((await json(await post('/me/passkeys/registration', user.accessToken))).challenge);
    const elsewhere = softwareAuthenticator({ id: RP.id, origin: 'https://evil.example' }).create(await open());
    expect(await refusal(elsewhere)).toEqual([400, 'invalid_passkey']);
    expect(await refusal(authenticator.create(await open(), { userVerified: false }))).toEqual([400, 'invalid_passkey']);
    expect(await refusal({ id: 'x', type: 'public-key' })).toEqual([400, 'invalid_passkey']);
    const wrongShape = await post('/me/passkeys', user.accessToken, { response: 'a string' });
    expect([wrongShape.status, (await json(wrongShape)).error]).toEqual([400, 'invalid_request']);
    // Each refused answer spent its challenge, and nothing was stored.
    const listed = await json(await harness.app.request('/me/factors', { headers: { Authorization: `Bearer ${user.accessToken}` } }));
    expect(listed).toEqual({ factors: [], recovery_codes_left: 0 });
  });
});

describe('signing in with a passkey', () => {
  it('signs in with the passkey alone from the login page: a multi-factor sign-in (RFC 8176 hwk, user, mfa)', async () => {
    const user = await userWithPasskey();
    const { browser, pkce, page, passkey } = await atLoginPage();
    expect(page).toContain('autocomplete="username webauthn"');
    expect(passkey.options).toMatchObject({ rpId: 'issuer.test', userVerification: 'required', allowCredentials: [] });
    const answer = await postPasskey(browser, passkey.fields, user.authenticator.assert(String(passkey.options.challenge)));
    expect(answer.status).toBe(303);
    expect(locationOf(answer).origin + locationOf(answer).pathname).toBe(WEB_CALLBACK);
    const tokens = (await flow.exchange(web, locationOf(answer).searchParams.get('code')!, pkce.verifier)).body;
    const id = await flow.verifyAgainstJwks(String(tokens.id_token), web.id);
    expect([id.sub, id.amr, id.acr]).toEqual([user.id, ['hwk', 'user', 'mfa'], ACR_MULTI_FACTOR]);
    const listed = await json(
      await harness.app.request('/me/factors', { headers: { Authorization: `Bearer ${String(tokens.access_token)}` } }),
    );
    expect((listed.factors as { last_used_at: string | null }[])[0]!.last_used_at).not.toBeNull();
  });

  it('accepts each challenge once, for the sign-in that asked for it, in the browser that holds it', async () => {
    const user = await userWithPasskey();
    const first = await atLoginPage();
    const assertion = user.authenticator.assert(String(first.passkey.options.challenge));
    // Another browser posting the answer meant for the first browser's sign-in.
    const other = await atLoginPage();
    const stolen = await postPasskey(other.browser, other.passkey.fields, assertion);
    expect(stolen.status).toBe(400);
    expect(await stolen.text()).toContain(text.passkeyRefused);
    expect(other.browser.cookies.has('ti_session')).toBe(false);
    // The first browser's own post still works once; the same answer again does not.
    expect((await postPasskey(first.browser, first.passkey.fields, assertion)).status).toBe(303);
    expect((await postPasskey(first.browser, first.passkey.fields, assertion)).status).toBe(400);
  });

  it('refuses a passkey without user verification, from another origin, or whose counter went back (a cloned key)', async () => {
    const user = await userWithPasskey();
    const attempt = async (make: (challenge: string) => unknown) => {
      const { browser, passkey } = await atLoginPage();
      const answer = await postPasskey(browser, passkey.fields, make(String(passkey.options.challenge)));
      return [answer.status, browser.cookies.has('ti_session')];
    };
    expect(await attempt((challenge) => user.authenticator.assert(challenge, { userVerified: false }))).toEqual([400, false]);
    expect(await attempt((challenge) => user.authenticator.assert(challenge, { origin: 'https://evil.example' }))).toEqual([400, false]);
    expect(await attempt((challenge) => user.authenticator.assert(challenge, { counter: 10 }))).toEqual([303, true]);
    expect(await attempt((challenge) => user.authenticator.assert(challenge, { counter: 10 }))).toEqual([400, false]);
    expect(await attempt((challenge) => user.authenticator.assert(challenge, { counter: 3 }))).toEqual([400, false]);
    // The real key, moving on from 10: fine again.
    expect(await attempt((challenge) => user.authenticator.assert(challenge, { counter: 11 }))).toEqual([303, true]);
  });

  it('asks for the second step after the password of a user with a passkey, and takes their own passkey only', async () => {
    const user = await userWithPasskey();
    const stranger = await userWithPasskey();
    const browser = flow.newBrowser();
    const { answer, pkce } = await flow.signInThroughPages(browser, web, { scope: 'openid account' }, user.username);
    expect(locationOf(answer).pathname).toBe('/authorize/second-factor');
    const page = await (await browser.get(pathOf(answer))).text();
    const passkey = passkeyForm(page)!;
    expect(passkey.options).toMatchObject({ allowCredentials: [{ id: user.authenticator.id }] });
    expect(hiddenFields(page)).not.toHaveProperty('credential');

    const foreign = await postPasskey(browser, passkey.fields, stranger.authenticator.assert(String(passkey.options.challenge)));
    expect(foreign.status).toBe(400);
    const retry = passkeyForm(await foreign.text())!;
    const done = await postPasskey(
      browser,
      retry.fields,
      user.authenticator.assert(String(retry.options.challenge), { userVerified: false }),
    );
    expect(done.status).toBe(303);
    const tokens = (await flow.exchange(web, locationOf(done).searchParams.get('code')!, pkce.verifier)).body;
    expect(decodeJwt(String(tokens.id_token)).amr).toEqual(['pwd', 'hwk', 'mfa']);
  });

  it('refuses garbage answers with the page again, never a 5xx, and signs no one in', async () => {
    const { browser, passkey } = await atLoginPage();
    for (const credential of [
      '',
      'not json',
      '[]',
      '{"id":"x"}',
      JSON.stringify({ ...softwareAuthenticator(RP).assert('x'), type: 'other' }),
    ]) {
      const answer = await browser.post('/authorize/passkey', { ...passkey.fields, credential });
      expect(answer.status).toBe(400);
      expect(answer.headers.get('Content-Type')).toContain('text/html');
    }
    expect((await browser.post('/authorize/passkey', { ...passkey.fields, csrf: 'forged', credential: '{}' })).status).toBe(400);
    expect(browser.cookies.has('ti_session')).toBe(false);
  });
});
