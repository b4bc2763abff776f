import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient } from '../src/clients/client-registry.js';
import { createLogger } from '../src/logger.js';
import { registerUser } from '../src/users/accounts.js';
import { createInProcessApp, passwordSignIn, type InProcessApp } from './support/in-process-app.js';
import { hiddenFields, pageBrowser, pkcePair, type PageBrowser } from './support/page-browser.js';

const ISSUER = 'http://issuer.test';
const PASSWORD = 'violet cabinet river 7 lantern';
const NEW_PASSWORD = 'copper meadow whistle 42 orbit';

/**
 * The pages the login page links to: forgot password, the reset page the mail links to, signup.
 * Embedded mode (the mail goes to the log, where the test reads the link).
 */
describe('account pages', () => {
  let harness: InProcessApp;
  let closed: InProcessApp;
  let browser: PageBrowser;
  let web: { id: string; secret: string | undefined };
  const logLines: string[] = [];

  const send = (path: string, init: RequestInit) => harness.app.request(path, init);
  /** Waits for the mail that the forgot form sends after answering, and returns its token. */
  async function mailedToken(to: string): Promise<string> {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const line = logLines.find((entry) => entry.includes(`"to":"${to}"`));
      if (line) return /#token=([A-Za-z0-9_-]+)/.exec(line)![1]!;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no mail to ${to}`);
  }

  beforeAll(async () => {
    harness = await createInProcessApp({
      issuer: ISSUER,
      env: { SIGNUP_ENABLED: 'true' },
      logger: createLogger('info', { write: (line: string) => void logLines.push(line) }),
    });
    closed = await createInProcessApp({ issuer: ISSUER, env: { SIGNUP_ENABLED: 'false' } });
    const client = await createClient(harness.database.db, {
      name: 'Web shop',
      grantTypes: ['authorization_code', 'password'],
      scopes: ['openid'],
      audiences: [ISSUER],
      redirectUris: ['https://web.example.com/callback'],
      firstParty: true,
    });
    web = { id: client.id, secret: client.secret };
    await registerUser(harness.accounts, { username: 'alice', email: 'alice@example.com' }, PASSWORD);
  });
  afterAll(async () => {
    await harness?.close();
    await closed?.close();
  });
  beforeEach(() => {
    browser = pageBrowser(send);
  });

  /** Starts a sign-in in this browser and returns its pending request's id. */
  async function pendingSignIn(): Promise<string> {
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: web.id,
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    });
    const started = await browser.get(`/authorize?${params}`);
    return new URL(started.headers.get('Location')!, ISSUER).searchParams.get('request')!;
  }

  it('the login page links to them, and each leads back to the pending sign-in', async () => {
    const requestId = await pendingSignIn();
    const login = await (await browser.get(`/authorize/login?request=${requestId}`)).text();
    expect(login).toContain(`href="/account/forgot?request=${requestId}"`);
    expect(login).toContain(`href="/account/signup?request=${requestId}"`);
    const forgot = await (await browser.get(`/account/forgot?request=${requestId}`)).text();
    expect(forgot).toContain(`href="/authorize/login?request=${requestId}"`);
    // Only a pending sign-in's own page is linked back to: never an address from the URL.
    const elsewhere = await (await browser.get('/account/forgot?request=https://evil.example/')).text();
    expect(elsewhere).not.toContain('evil.example');
  });

  it('forgot password: the same answer for any address, a mail for a real one, and the reset page sets the password', async () => {
    const page = await (await browser.get('/account/forgot')).text();
    const unknown = await browser.post('/account/forgot', { ...hiddenFields(page), email: 'nobody@example.com' });
    const known = await browser.post('/account/forgot', { ...hiddenFields(page), email: 'alice@example.com' });
    expect([unknown.status, known.status]).toEqual([200, 200]);
    expect(await unknown.text()).toEqual(await known.text());
    const token = await mailedToken('alice@example.com');
    expect(logLines.some((line) => line.includes('"to":"nobody@example.com"'))).toBe(false);
    expect(logLines.find((line) => line.includes('"to":"alice@example.com"'))).toContain(`${ISSUER}/account/reset#token=`);

    const resetPage = await browser.get('/account/reset');
    expect(resetPage.headers.get('Content-Security-Policy')).toContain("script-src 'self'");
    const resetHtml = await resetPage.text();
    expect(resetHtml).toContain('<script src="/pages/reset-link.js"></script>');
    expect(resetHtml).toMatch(/autocomplete="new-password"/);
    const script = await harness.app.request('/pages/reset-link.js');
    expect(script.headers.get('Content-Type')).toContain('text/javascript');

    // A password the policy refuses spends nothing: the same page, the rule in words.
    const weak = await browser.post('/account/reset', { ...hiddenFields(resetHtml), token, new_password: 'short' });
    expect(weak.status).toBe(400);
    const weakHtml = await weak.text();
    expect(weakHtml).toContain('The password is too short: use at least 15 characters.');
    expect(weakHtml).not.toContain('rule:');
    const done = await browser.post('/account/reset', { ...hiddenFields(resetHtml), token, new_password: NEW_PASSWORD });
    expect(done.status).toBe(200);
    const doneHtml = await done.text();
    expect(doneHtml).toContain('Your password is changed');
    // Reached from a mail without a sign-in behind it: the page says where signing in happens.
    expect(doneHtml).toContain('Go back to the application you were using to sign in.');
    expect((await passwordSignIn(harness, web, { username: 'alice', password: PASSWORD })).status).toBe(400);
    expect((await passwordSignIn(harness, web, { username: 'alice', password: NEW_PASSWORD })).status).toBe(200);

    const again = await browser.post('/account/reset', { ...hiddenFields(resetHtml), token, new_password: 'yet another long passphrase' });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('This reset code is invalid, expired or already used.');
  });

  it('a reset begun at a sign-in leads back to it, through the mailed link', async () => {
    await registerUser(harness.accounts, { username: 'erin', email: 'erin@example.com' }, PASSWORD);
    const requestId = await pendingSignIn();
    const forgot = await (await browser.get(`/account/forgot?request=${requestId}`)).text();
    await browser.post('/account/forgot', { ...hiddenFields(forgot), email: 'erin@example.com' });
    const token = await mailedToken('erin@example.com');
    const mail = logLines.find((line) => line.includes('"to":"erin@example.com"'))!;
    expect(mail).toContain(`${ISSUER}/account/reset?request=${requestId}#token=`);

    const resetHtml = await (await browser.get(`/account/reset?request=${requestId}`)).text();
    const done = await browser.post('/account/reset', { ...hiddenFields(resetHtml), token, new_password: NEW_PASSWORD });
    expect(await done.text()).toContain(`<a href="/authorize/login?request=${requestId}">Back to sign in</a>`);
    // The login page it leads to still works: the new password signs in there.
    const login = await browser.get(`/authorize/login?request=${requestId}`);
    expect(login.status).toBe(200);
  });

  it('says each password rule in words on the pages, never the API’s rule name', async () => {
    const page = await (await browser.get('/account/signup')).text();
    const fields = { ...hiddenFields(page), username: 'frank', email: 'frank@example.com' };
    const said = async (password: string) => {
      const response = await browser.post('/account/signup', { ...fields, password });
      expect(response.status).toBe(400);
      const html = await response.text();
      expect(html).not.toContain('rule:');
      return /<p class="error" role="alert" id="form-error">([^<]*)<\/p>/.exec(html)?.[1];
    };
    expect(await said('short')).toBe('The password is too short: use at least 15 characters.');
    expect(await said('x'.repeat(200))).toMatch(/^The password is too long: use at most \d+ characters\.$/);
    expect(await said('frank@example.com')).toBe('The password must not be your username or email address.');
    expect(await said('passwordpassword')).toBe('That password is one of the most common ones, which attackers try first. Choose another.');
  });

  it('refuses their forms without the page’s anti-forgery token', async () => {
    for (const path of ['/account/forgot', '/account/reset', '/account/signup']) {
      const response = await browser.post(path, {
        email: 'alice@example.com',
        token: 'x',
        new_password: NEW_PASSWORD,
        username: 'mallory',
      });
      expect(response.status, path).toBe(400);
      expect(await response.text()).toContain('This form has expired or was not sent by this browser.');
    }
  });

  it('signup creates an account that signs in; a taken name says so; a weak password names the rule', async () => {
    const page = await (await browser.get('/account/signup')).text();
    expect(page).toMatch(/autocomplete="new-password"/);
    const fields = { ...hiddenFields(page), username: 'bob', email: 'bob@example.com', full_name: 'Bob Stone' };
    const weak = await browser.post('/account/signup', { ...fields, password: 'password' });
    expect(weak.status).toBe(400);
    const weakPage = await weak.text();
    expect(weakPage).toContain('role="alert"');
    expect(weakPage).toContain('value="bob@example.com"'); // kept, so only the password is typed again
    const created = await browser.post('/account/signup', { ...fields, password: PASSWORD });
    expect(created.status).toBe(200);
    const createdHtml = await created.text();
    expect(createdHtml).toContain('Your account is ready.');
    expect(createdHtml).toContain('Go back to the application you were using to sign in.');
    expect((await passwordSignIn(harness, web, { username: 'bob', password: PASSWORD })).status).toBe(200);
    const taken = await browser.post('/account/signup', { ...fields, email: 'other@example.com', password: PASSWORD });
    expect(await taken.text()).toContain('That username or email address is already registered.');
  });

  it('GET / is a page naming the issuer, with links to what can be done without an app', async () => {
    const response = await harness.app.request('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(response.headers.get('Content-Security-Policy')).not.toContain('script-src');
    const page = await response.text();
    expect(page).toContain(`<p class="brand">${harness.config.pages.displayName}</p>`);
    for (const href of ['/account/signup', '/account/forgot', '/docs', '/.well-known/openid-configuration']) {
      expect(page).toContain(`href="${href}"`);
    }
    // No signup link where signup is off.
    expect(await (await closed.app.request('/')).text()).not.toContain('href="/account/signup"');
  });

  it('signup is a 403 page when SIGNUP_ENABLED is false', async () => {
    const response = await closed.app.request('/account/signup');
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('Self-service signup is not enabled on this issuer.');
  });
});
