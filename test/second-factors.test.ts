import { decodeJwt } from 'jose';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR } from '@token-issuer/verifier';
import { changeClient } from '../src/clients/client-administration.js';
import { runCli } from '../src/cli/run.js';
import { adminContextOf } from '../src/composition.js';
import { createLogger } from '../src/logger.js';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { auditEvents } from '../src/db/schema.js';
import { totpCodeAt } from './support/totp.js';
import type { MailMessage } from '../src/mail/mailer.js';
import { text } from '../src/pages/page-text.js';
import { registerUser } from '../src/users/accounts.js';
import { createFlowHarness, ISSUER, locationOf, pathOf, PASSWORD, WEB_CALLBACK, type FlowHarness } from './support/authorization-flow.js';
import { createInProcessApp, passwordSignIn, type InProcessApp } from './support/in-process-app.js';
import { hiddenFields, pageBrowser, type PageBrowser } from './support/page-browser.js';

/**
 * Second factors (issue: passkeys and second factors): authenticator apps added through the account
 * API or at sign-in, the second step of the login page with codes computed as an app would, replay
 * across instances, throttling, recovery codes, step-up, and the policy (require_mfa, MFA_REQUIRED,
 * the password grant, refresh). In-process, on PostgreSQL when the suite has it.
 */
const MFA_ACR = { acr_values: ACR_MULTI_FACTOR };
const STEP_MS = 30_000;

let flow: FlowHarness;
let harness: InProcessApp;
let web: CreatedClient;
let spa: CreatedClient;
let passwordApp: CreatedClient;
let singleFactorApp: CreatedClient;
let strictApp: CreatedClient;
const mail: MailMessage[] = [];
let users = 0;

beforeAll(async () => {
  flow = await createFlowHarness({ mailer: { send: async (message) => void mail.push(message), close: () => {} } });
  harness = flow.harness;
  ({ web, spa } = flow.clients);
  const db = harness.database.db;
  const common = { scopes: ['openid', 'profile', 'account'], audiences: [ISSUER], firstParty: true };
  passwordApp = await createClient(db, { name: 'Terminal', grantTypes: ['password', 'refresh_token'], ...common });
  singleFactorApp = await createClient(db, {
    name: 'Kiosk',
    grantTypes: ['password', 'refresh_token'],
    singleFactorPasswordGrant: true,
    ...common,
  });
  strictApp = await createClient(db, {
    name: 'Payroll',
    grantTypes: ['authorization_code', 'refresh_token'],
    redirectUris: [WEB_CALLBACK],
    requireMfa: true,
    ...common,
  });
});
afterAll(() => harness?.close());
beforeEach(() => flow.setClockAhead(0));

/** A new user, so that each test's factors and throttle counts are its own. */
async function newUser() {
  users += 1;
  const username = `mfa-user-${users}`;
  const user = await registerUser(harness.accounts, { username, email: `${username}@example.com` }, PASSWORD);
  return { id: user.id, username, email: user.email };
}

const json = async (response: Response) => (await response.json()) as Record<string, unknown>;
const bearer = (token: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): RequestInit => ({
  method,
  headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
});
/** The code an authenticator app shows `steps` time steps after the issuer's now. */
const appCode = (secret: string, steps = 0) => totpCodeAt(secret, new Date(flow.now().getTime() + steps * STEP_MS));

/** Signs in at the pages with the password (and the app's code when asked) and exchanges the code: the tokens. */
async function tokensThroughPages(username: string, client = web, extra: Record<string, string> = {}, secret?: string) {
  const browser = flow.newBrowser();
  const { answer, pkce } = await flow.signInThroughPages(browser, client, { scope: 'openid account', ...extra }, username);
  let back = answer;
  if (locationOf(answer).pathname === '/authorize/second-factor') {
    const page = await browser.get(pathOf(answer));
    back = await browser.post('/authorize/second-factor', { ...hiddenFields(await page.text()), code: appCode(secret!) });
  }
  expect(back.status).toBe(303);
  const code = locationOf(back).searchParams.get('code');
  expect(code, `no code at ${locationOf(back).pathname}`).toBeTruthy();
  const exchanged = await flow.exchange(client, code!, pkce.verifier);
  expect(exchanged.status).toBe(200);
  return exchanged.body as { access_token: string; id_token: string; refresh_token?: string };
}

/** Adds an authenticator app through the account API, as an app's own screens would: its secret and recovery codes. */
async function addApp(accessToken: string) {
  const started = await harness.app.request('/me/factors/totp', bearer(accessToken, {}));
  expect(started.status).toBe(201);
  const { id, otpauth_uri } = (await started.json()) as { id: string; otpauth_uri: string };
  const secret = new URL(otpauth_uri).searchParams.get('secret')!;
  const confirmedWith = appCode(secret);
  const confirmed = await harness.app.request(`/me/factors/totp/${id}/confirm`, bearer(accessToken, { code: confirmedWith }));
  expect(confirmed.status).toBe(200);
  const { recovery_codes } = (await confirmed.json()) as { recovery_codes?: string[] };
  return { factorId: id, secret, confirmedWith, recoveryCodes: recovery_codes };
}

/** A user with an authenticator app, and the secret the app holds. */
async function userWithApp() {
  const user = await newUser();
  const { access_token } = await tokensThroughPages(user.username);
  const app = await addApp(access_token);
  // The code that confirmed the app is spent: sign-ins use the next step's.
  flow.setClockAhead(STEP_MS);
  return { ...user, ...app };
}

/** Password at the login page for a user with an app: the browser, at the second step. */
async function atSecondStep(username: string, browser = flow.newBrowser(), client = web) {
  const { answer, pkce } = await flow.signInThroughPages(browser, client, { scope: 'openid account' }, username);
  expect(answer.status).toBe(303);
  expect(locationOf(answer).pathname).toBe('/authorize/second-factor');
  const page = await browser.get(pathOf(answer));
  expect(page.status).toBe(200);
  return { browser, pkce, page: await page.text() };
}

const sessionCookie = (browser: PageBrowser) => browser.cookies.get('ti_session');

describe('adding an authenticator app through the account API', () => {
  it('gives a key URI once, turns the app on with its first code, and gives ten recovery codes with the first factor', async () => {
    const user = await newUser();
    const { access_token } = await tokensThroughPages(user.username);
    const started = await harness.app.request('/me/factors/totp', bearer(access_token, { name: 'Phone' }));
    expect(started.status).toBe(201);
    const { id, otpauth_uri } = (await started.json()) as { id: string; otpauth_uri: string };
    const uri = new URL(otpauth_uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('issuer')).toBe('Example Corp');
    expect(uri.searchParams.get('secret')).toMatch(/^[A-Z2-7]{32}$/);
    // Not on until confirmed: the listing shows nothing yet.
    expect(await json(await harness.app.request('/me/factors', bearer(access_token)))).toEqual({ factors: [], recovery_codes_left: 0 });

    const secret = uri.searchParams.get('secret')!;
    const wrongCode = String((Number(appCode(secret)) + 500_000) % 1_000_000).padStart(6, '0');
    const wrong = await harness.app.request(`/me/factors/totp/${id}/confirm`, bearer(access_token, { code: wrongCode }));
    expect([wrong.status, (await json(wrong)).error]).toEqual([400, 'invalid_code']);

    const confirmed = await harness.app.request(`/me/factors/totp/${id}/confirm`, bearer(access_token, { code: appCode(secret) }));
    expect(confirmed.status).toBe(200);
    const body = await json(confirmed);
    expect(body).toMatchObject({ id, kind: 'totp', name: 'Phone', last_used_at: expect.any(String) });
    const codes = body.recovery_codes as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{6}-[0-9a-hjkmnp-tv-z]{6}$/);

    const listed = await json(await harness.app.request('/me/factors', bearer(access_token)));
    expect(listed).toEqual({
      factors: [{ id, kind: 'totp', name: 'Phone', created_at: expect.any(String), last_used_at: expect.any(String) }],
      recovery_codes_left: 10,
    });
    expect(JSON.stringify(listed)).not.toContain(secret);
    // Now that there is a factor, this password-only token may change nothing more (RFC 9470).
    flow.setClockAhead(STEP_MS);
    const again = await harness.app.request(`/me/factors/totp/${id}/confirm`, bearer(access_token, { code: appCode(secret) }));
    expect([again.status, (await json(again)).error]).toEqual([401, 'insufficient_user_authentication']);
  });

  it('asks for a sign-in of the last five minutes (RFC 9470), and for the second factor once there is one', async () => {
    const user = await newUser();
    const { access_token } = await tokensThroughPages(user.username);
    flow.setClockAhead(6 * 60_000);
    const stale = await harness.app.request('/me/factors/totp', bearer(access_token, {}));
    expect([stale.status, (await json(stale)).error]).toEqual([401, 'insufficient_user_authentication']);
    expect(stale.headers.get('WWW-Authenticate')).toContain('error="insufficient_user_authentication"');
    expect(stale.headers.get('WWW-Authenticate')).toMatch(/max_age=300$/);
    // Reading needs no recent sign-in.
    expect((await harness.app.request('/me/factors', bearer(access_token))).status).toBe(200);

    flow.setClockAhead(0);
    await addApp(access_token);
    // The same password-only token may no longer change the sign-in methods now that there is a factor.
    const weak = await harness.app.request('/me/recovery-codes', bearer(access_token, {}));
    expect(weak.status).toBe(401);
    expect(weak.headers.get('WWW-Authenticate')).toContain(`acr_values="${ACR_MULTI_FACTOR}"`);
  });

  it('removes an app with a multi-factor sign-in: the user is told by mail, the recovery codes go with the last app', async () => {
    const user = await userWithApp();
    const { access_token } = await tokensThroughPages(user.username, web, {}, user.secret);
    const regenerated = await harness.app.request('/me/recovery-codes', bearer(access_token, {}));
    expect(regenerated.status).toBe(200);
    const fresh = (await json(regenerated)).recovery_codes as string[];
    expect(fresh).toHaveLength(10);
    expect(fresh.some((code) => user.recoveryCodes!.includes(code))).toBe(false);

    mail.length = 0;
    expect((await harness.app.request(`/me/factors/${user.id}`, bearer(access_token, undefined, 'DELETE'))).status).toBe(404);
    expect((await harness.app.request('/me/factors/not-a-uuid', bearer(access_token, undefined, 'DELETE'))).status).toBe(404);
    expect(await factorIdOf(access_token)).toBe(user.factorId);
    const removed = await harness.app.request(`/me/factors/${user.factorId}`, bearer(access_token, undefined, 'DELETE'));
    expect(removed.status).toBe(204);
    expect(await json(await harness.app.request('/me/factors', bearer(access_token)))).toEqual({ factors: [], recovery_codes_left: 0 });
    expect(mail.map((message) => [message.to, message.subject])).toEqual([[user.email, 'A sign-in method was removed']]);
    // Without a factor, the password alone signs in again.
    const { answer } = await flow.signInThroughPages(flow.newBrowser(), web, {}, user.username);
    expect(locationOf(answer).pathname).toBe(new URL(WEB_CALLBACK).pathname);
  });

  it('refuses bad input with a clear error and changes nothing', async () => {
    const user = await newUser();
    const { access_token } = await tokensThroughPages(user.username);
    const cases: [string, RequestInit][] = [
      ['/me/factors/totp', bearer(access_token, { name: 'x'.repeat(65) })],
      ['/me/factors/totp', bearer(access_token, { name: 'Phone', extra: true })],
      ['/me/factors/totp', { ...bearer(access_token, {}), body: '{not json' }],
      [
        '/me/factors/totp',
        { ...bearer(access_token, {}), headers: { Authorization: `Bearer ${access_token}`, 'Content-Type': 'text/plain' } },
      ],
      [`/me/factors/totp/${crypto.randomUUID()}/confirm`, bearer(access_token, { code: 123456 })],
      [`/me/factors/totp/${crypto.randomUUID()}/confirm`, bearer(access_token, {})],
    ];
    for (const [path, init] of cases) {
      const response = await harness.app.request(path, init);
      expect(response.status, `${path} ${String(init.body)}`).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect((await json(response)).error).toBe('invalid_request');
    }
    const unknown = await harness.app.request('/me/factors/totp/not-a-uuid/confirm', bearer(access_token, { code: '123456' }));
    expect(unknown.status).toBe(404);
    expect((await harness.app.request('/me/factors', bearer('garbage'))).status).toBe(401);
    expect((await harness.app.request('/me/factors')).status).toBe(401);
    expect(await json(await harness.app.request('/me/factors', bearer(access_token)))).toEqual({ factors: [], recovery_codes_left: 0 });
  });
});

/** The id of the caller's one factor. */
async function factorIdOf(accessToken: string): Promise<string> {
  const listed = (await json(await harness.app.request('/me/factors', bearer(accessToken)))) as { factors: { id: string }[] };
  return listed.factors[0]!.id;
}

describe('the second step of the login page', () => {
  it('asks for a code after the password, starts no session before it, and the tokens say mfa (RFC 8176)', async () => {
    const user = await userWithApp();
    const { browser, pkce, page } = await atSecondStep(user.username);
    expect(page).toContain('name="code"');
    expect(page).toContain('autocomplete="one-time-code"');
    expect(sessionCookie(browser)).toBeUndefined();
    // Without the code, /authorize does not count the browser as signed in.
    const silent = await browser.get(flow.authorizeUrl(web, { prompt: 'none' }).url);
    expect(locationOf(silent).searchParams.get('error')).toBe('login_required');

    const answer = await browser.post('/authorize/second-factor', { ...hiddenFields(page), code: appCode(user.secret) });
    expect(answer.status).toBe(303);
    expect(sessionCookie(browser)).toBeDefined();
    const code = locationOf(answer).searchParams.get('code')!;
    const tokens = (await flow.exchange(web, code, pkce.verifier)).body as { access_token: string; id_token: string };
    const id = await flow.verifyAgainstJwks(tokens.id_token, web.id);
    expect(id.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(id.acr).toBe(ACR_MULTI_FACTOR);
    const access = await flow.verifyAgainstJwks(tokens.access_token, ISSUER);
    expect([access.amr, access.acr]).toEqual([['pwd', 'otp', 'mfa'], ACR_MULTI_FACTOR]);

    // Single sign-on keeps the second factor: the next request needs neither step.
    const again = await browser.get(flow.authorizeUrl(web, { prompt: 'none' }).url);
    expect(locationOf(again).searchParams.get('code')).toBeTruthy();
  });

  it('accepts each code once: the code that confirmed the app, or one used already, is refused', async () => {
    const user = await userWithApp();
    const first = await atSecondStep(user.username);
    const confirmedWith = await first.browser.post('/authorize/second-factor', { ...hiddenFields(first.page), code: user.confirmedWith });
    expect(confirmedWith.status).toBe(400);
    expect(await confirmedWith.text()).toContain(text.invalidCode);

    const code = appCode(user.secret);
    const used = await first.browser.post('/authorize/second-factor', { ...hiddenFields(first.page), code });
    expect(used.status).toBe(303);
    const second = await atSecondStep(user.username);
    const replayed = await second.browser.post('/authorize/second-factor', { ...hiddenFields(second.page), code });
    expect(replayed.status).toBe(400);
    expect(sessionCookie(second.browser)).toBeUndefined();
  });

  it('refuses a code replayed at a second instance on the same database', async () => {
    const user = await userWithApp();
    const other = await createInProcessApp({
      issuer: ISSUER,
      database: harness.database,
      keyEncryptionKey: harness.keyEncryptionKey,
      env: { ISSUER_DISPLAY_NAME: 'Example Corp' },
      now: flow.now,
    });
    try {
      const code = appCode(user.secret);
      const atFirst = await atSecondStep(user.username);
      expect((await atFirst.browser.post('/authorize/second-factor', { ...hiddenFields(atFirst.page), code })).status).toBe(303);
      // The same person's code, seen by an attacker, tried at the other instance right after.
      const atOther = await atSecondStep(
        user.username,
        pageBrowser((path, init) => other.app.request(path, init)),
      );
      const replayed = await atOther.browser.post('/authorize/second-factor', { ...hiddenFields(atOther.page), code });
      expect(replayed.status).toBe(400);
      expect(await replayed.text()).toContain(text.invalidCode);
    } finally {
      other.keyRing.stop();
    }
  });

  it('throttles wrong codes like wrong passwords: past the limit even the right code waits, and each failure is audited', async () => {
    const user = await userWithApp();
    const { browser, page } = await atSecondStep(user.username);
    const wrong = String((Number(appCode(user.secret)) + 500_000) % 1_000_000).padStart(6, '0');
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => browser.post('/authorize/second-factor', { ...hiddenFields(page), code: wrong })),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([400, 400, 400, 429, 429, 429]);
    const right = await browser.post('/authorize/second-factor', { ...hiddenFields(page), code: appCode(user.secret) });
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(sessionCookie(browser)).toBeUndefined();
    const failures = await harness.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.type, 'second_factor_failed')));
    expect(failures).toHaveLength(3);
  });

  it('takes a recovery code once, in any case and with spaces; its use is audited and mailed', async () => {
    const user = await userWithApp();
    const recovery = user.recoveryCodes![0]!;
    mail.length = 0;
    const first = await atSecondStep(user.username);
    const typed = ` ${recovery.toUpperCase().replace('-', ' ')} `;
    const answer = await first.browser.post('/authorize/second-factor', { ...hiddenFields(first.page), code: typed });
    expect(answer.status).toBe(303);
    const tokens = (await flow.exchange(web, locationOf(answer).searchParams.get('code')!, first.pkce.verifier)).body;
    expect(decodeJwt(tokens.id_token as string).amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(mail.map((message) => [message.to, message.subject])).toEqual([[user.email, 'A recovery code was used']]);
    expect(mail[0]!.text).toContain('9 of your recovery codes are left');
    expect(mail[0]!.text).not.toContain(recovery);

    const second = await atSecondStep(user.username);
    expect((await second.browser.post('/authorize/second-factor', { ...hiddenFields(second.page), code: recovery })).status).toBe(400);
    const used = await harness.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.type, 'recovery_code_used')));
    expect(used.map((event) => event.details)).toEqual([{ left: 9 }]);
  });

  it('refuses a form without its request or anti-forgery token with a page, never a 5xx', async () => {
    const user = await userWithApp();
    const { browser, page } = await atSecondStep(user.username);
    const fields = hiddenFields(page);
    const forms: Record<string, string>[] = [
      {},
      { ...fields, csrf: 'forged' },
      { ...fields, request: 'not-a-request' },
      { request: fields.request!, code: '123456' },
    ];
    for (const form of forms) {
      const answer = await browser.post('/authorize/second-factor', form);
      expect(answer.status).toBe(400);
      expect(answer.headers.get('Content-Type')).toContain('text/html');
    }
    // Another browser cannot answer this browser's second step.
    const stranger = await flow.newBrowser().post('/authorize/second-factor', { ...fields, code: appCode(user.secret) });
    expect(stranger.status).toBe(400);
    for (const path of [
      '/authorize/second-factor',
      '/authorize/enrol',
      '/authorize/second-factor?request=x',
      '/authorize/enrol?request=x',
    ]) {
      expect((await browser.get(path)).status).toBe(400);
    }
    // The right code still works afterwards: nothing was spent by the refusals.
    expect((await browser.post('/authorize/second-factor', { ...fields, code: appCode(user.secret) })).status).toBe(303);
  });
});

describe('step-up and enrolment at sign-in', () => {
  it('asks a password-only session for the second step only when a client asks for MFA with acr_values, and steps the same session up', async () => {
    const user = await newUser();
    const browser = flow.newBrowser();
    const { answer } = await flow.signInThroughPages(browser, web, {}, user.username);
    expect(locationOf(answer).pathname).toBe(new URL(WEB_CALLBACK).pathname);
    const session = sessionCookie(browser);

    // The third-party client asks for MFA: no password again, but an app to add (the user has none).
    const { url, pkce } = flow.authorizeUrl(spa, MFA_ACR);
    const started = await browser.get(url);
    expect(pathOf(started)).toMatch(/^\/authorize\/enrol\?request=/);
    const page = await (await browser.get(pathOf(started))).text();
    expect(page).toContain('<svg');
    expect(page).toContain('autocomplete="one-time-code"');
    const secret = /<code class="secret">([A-Z2-7 ]+)<\/code>/.exec(page)![1]!.replace(/ /g, '');
    const fields = hiddenFields(page);

    // A wrong first code shows the same app again, so the QR code already scanned still works.
    const wrongCode = String((Number(appCode(secret)) + 500_000) % 1_000_000).padStart(6, '0');
    const wrong = await browser.post('/authorize/enrol', { ...fields, code: wrongCode });
    expect(wrong.status).toBe(400);
    expect(hiddenFields(await wrong.text()).factor).toBe(fields.factor);

    const enrolled = await browser.post('/authorize/enrol', { ...fields, code: appCode(secret) });
    expect(enrolled.status).toBe(200);
    const codesPage = await enrolled.text();
    expect([...codesPage.matchAll(/<li><code>([0-9a-z]{6}-[0-9a-z]{6})<\/code><\/li>/g)]).toHaveLength(10);
    expect(sessionCookie(browser)).toBe(session);

    const next = await browser.post('/authorize/continue', hiddenFields(codesPage));
    expect(pathOf(next)).toMatch(/^\/authorize\/consent\?request=/);
    const consent = await (await browser.get(pathOf(next))).text();
    const allowed = await browser.post('/authorize/consent', { ...hiddenFields(consent), decision: 'allow' });
    const tokens = (await flow.exchange(spa, locationOf(allowed).searchParams.get('code')!, pkce.verifier)).body;
    const id = await flow.verifyAgainstJwks(tokens.id_token as string, spa.id);
    expect([id.amr, id.acr]).toEqual([['pwd', 'otp', 'mfa'], ACR_MULTI_FACTOR]);
  });

  it('answers prompt=none for MFA on a password-only session with login_required, and a multi-factor session with a code', async () => {
    const user = await newUser();
    const browser = flow.newBrowser();
    await flow.signInThroughPages(browser, web, {}, user.username);
    const silent = await browser.get(flow.authorizeUrl(web, { ...MFA_ACR, prompt: 'none' }).url);
    expect(locationOf(silent).searchParams.get('error')).toBe('login_required');

    const withApp = await userWithApp();
    const second = await atSecondStep(withApp.username);
    await second.browser.post('/authorize/second-factor', { ...hiddenFields(second.page), code: appCode(withApp.secret) });
    const satisfied = await second.browser.get(flow.authorizeUrl(web, { ...MFA_ACR, prompt: 'none' }).url);
    expect(locationOf(satisfied).searchParams.get('code')).toBeTruthy();
  });

  it('sends a user without an app to add one for a client registered with require_mfa', async () => {
    const user = await newUser();
    const { answer } = await flow.signInThroughPages(flow.newBrowser(), strictApp, { scope: 'openid' }, user.username);
    expect(pathOf(answer)).toMatch(/^\/authorize\/enrol\?request=/);
  });

  it('lets a client ask for the single-factor level without forcing a factor on anyone', async () => {
    const user = await newUser();
    const tokens = await tokensThroughPages(user.username, web, { acr_values: `${ACR_SINGLE_FACTOR} ${ACR_MULTI_FACTOR}` });
    expect(decodeJwt(tokens.id_token).acr).toBe(ACR_SINGLE_FACTOR);
  });
});

describe('the password grant and refresh keep the policy', () => {
  const grant = (client: CreatedClient, username: string) =>
    passwordSignIn(harness, client, { username, password: PASSWORD, scope: 'openid' });

  it('refuses the password grant for a user with a second factor, unless the client may sign in with a password alone', async () => {
    const user = await userWithApp();
    const refused = await grant(passwordApp, user.username);
    const body = await json(refused);
    expect([refused.status, body.error]).toEqual([400, 'invalid_grant']);
    expect(String(body.error_description)).toContain('second factor');
    const allowed = await grant(singleFactorApp, user.username);
    expect(allowed.status).toBe(200);
    const access = decodeJwt(String((await json(allowed)).access_token));
    expect([access.amr, access.acr]).toEqual([['pwd'], ACR_SINGLE_FACTOR]);
    // A wrong password is still only a wrong password: the policy is asked only after it.
    const wrong = await passwordSignIn(harness, passwordApp, { username: user.username, password: 'not the password' });
    expect(String((await json(wrong)).error_description)).not.toContain('second factor');
  });

  it('stops refreshing single-factor sessions of a client once it requires MFA', async () => {
    const user = await newUser();
    const signedIn = await json(await grant(singleFactorApp, user.username));
    const refresh = (token: string) =>
      harness.app.request('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: token,
          client_id: singleFactorApp.id,
          client_secret: singleFactorApp.secret!,
        }),
      });
    const refreshed = await refresh(String(signedIn.refresh_token));
    expect(refreshed.status).toBe(200);
    const strictened = await changeClient(
      harness.revocation,
      singleFactorApp,
      { singleFactorPasswordGrant: false, requireMfa: true },
      { actor: 'test', changed: ['require_mfa'] },
    );
    try {
      const refused = await refresh(String((await json(refreshed)).refresh_token));
      expect([refused.status, (await json(refused)).error]).toEqual([400, 'invalid_grant']);
    } finally {
      const restored = { requireMfa: false, singleFactorPasswordGrant: true };
      singleFactorApp = {
        ...singleFactorApp,
        ...(await changeClient(harness.revocation, strictened, restored, { actor: 'test', changed: [] })),
      };
    }
  });
});

describe('operators', () => {
  it("list a user's factors and remove one through the admin API: audited, and the user is mailed", async () => {
    const user = await userWithApp();
    const admin = await registerUser(
      harness.accounts,
      { username: `admin-${users}`, email: `admin-${users}@example.com`, roles: ['admin'] },
      PASSWORD,
    );
    const console = await createClient(harness.database.db, {
      name: 'Console',
      grantTypes: ['password'],
      scopes: ['admin'],
      audiences: [ISSUER],
    });
    const token = String(
      (await json(await passwordSignIn(harness, console, { username: admin.username, password: PASSWORD, scope: 'admin' }))).access_token,
    );
    const listed = await json(await harness.app.request(`/admin/users/${user.id}/factors`, bearer(token)));
    expect(listed).toMatchObject({ factors: [{ id: user.factorId, kind: 'totp' }], recovery_codes_left: 10 });

    mail.length = 0;
    const unknown = await harness.app.request(`/admin/users/${user.id}/factors/${crypto.randomUUID()}`, bearer(token, undefined, 'DELETE'));
    expect(unknown.status).toBe(404);
    const removed = await harness.app.request(`/admin/users/${user.id}/factors/${user.factorId}`, bearer(token, undefined, 'DELETE'));
    expect(removed.status).toBe(204);
    expect(await json(await harness.app.request(`/admin/users/${user.id}/factors`, bearer(token)))).toEqual({
      factors: [],
      recovery_codes_left: 0,
    });
    expect(mail.map((message) => [message.to, message.subject])).toEqual([[user.email, 'A sign-in method was removed']]);
    const [event] = await harness.database.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.userId, user.id), eq(auditEvents.type, 'second_factor_removed')));
    expect(event).toMatchObject({ actor: `user:${admin.id}`, details: { kind: 'totp', name: 'Authenticator app' } });
    // A user's factors are not for a user's own token.
    const userToken = (await tokensThroughPages(user.username)).access_token;
    expect((await harness.app.request(`/admin/users/${user.id}/factors`, bearer(userToken))).status).toBe(403);
  });

  it('list and remove them with the CLI', async () => {
    const user = await userWithApp();
    const context = adminContextOf({
      config: harness.config,
      db: harness.database.db,
      logger: createLogger('silent'),
      denylist: harness.denylist,
    });
    const cli = (argv: string[]) => runCli(argv, { readStdin: async () => '', warn: () => {} }, (command) => command(context));
    const listed = await cli(['users', 'factors', user.username]);
    expect(listed.exitCode).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ factors: [{ id: user.factorId, kind: 'totp' }], recovery_codes_left: 10 });
    expect((await cli(['users', 'remove-factor', user.username])).exitCode).toBe(2);
    expect((await cli(['users', 'factors', 'nobody-at-all'])).exitCode).toBe(1);
    const removed = await cli(['users', 'remove-factor', user.username, user.factorId]);
    expect([removed.exitCode, JSON.parse(removed.stdout)]).toEqual([0, { removed: user.factorId }]);
    expect(JSON.parse((await cli(['users', 'factors', user.username])).stdout)).toEqual({ factors: [], recovery_codes_left: 0 });
  });
});

describe('MFA_REQUIRED', () => {
  let strict: FlowHarness;
  beforeAll(async () => {
    strict = await createFlowHarness({ env: { MFA_REQUIRED: 'true' } });
  });
  afterAll(() => strict?.harness.close());

  it('sends every user without a factor to add one, and refuses the password grant to all but single-factor clients', async () => {
    const { answer } = await strict.signInThroughPages(strict.newBrowser(), strict.clients.web, {});
    expect(pathOf(answer)).toMatch(/^\/authorize\/enrol\?request=/);
    const db = strict.harness.database.db;
    const common = { scopes: ['openid'], audiences: [ISSUER], firstParty: true, grantTypes: ['password'] as const };
    const plain = await createClient(db, { name: 'Terminal', ...common, grantTypes: ['password'] });
    const kiosk = await createClient(db, { name: 'Kiosk', ...common, grantTypes: ['password'], singleFactorPasswordGrant: true });
    const fields = { username: 'alice', password: PASSWORD };
    expect((await json(await passwordSignIn(strict.harness, plain, fields))).error).toBe('invalid_grant');
    expect((await passwordSignIn(strict.harness, kiosk, fields)).status).toBe(200);
  });
});
