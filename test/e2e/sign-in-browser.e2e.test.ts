import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACR_MULTI_FACTOR, createVerifier, userAuthenticationShortfall } from '@token-issuer/verifier';
import { totpCodeAt } from '../support/totp.js';
import {
  axeViolations,
  finishSignIn,
  startAppServer,
  startSignIn as startAppSignIn,
  watchForCspViolations,
} from '../support/browser-app.js';
import { hasBrowser, launchChromium, SCREENSHOTS } from '../support/chromium.js';
import { freePort, repositoryRoot, startServer, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const API = 'https://orders.test';
const PASSWORD = 'violet cabinet river 7 lantern';
/** `UPDATE_DOCS_IMAGES=1` refreshes the README's images from this run. */
const DOCS_IMAGES = process.env.UPDATE_DOCS_IMAGES === '1' ? join(repositoryRoot, 'docs/images') : undefined;

async function screenshot(page: Page, name: string, docsImage?: string) {
  await page.screenshot({ path: join(SCREENSHOTS, name) });
  if (DOCS_IMAGES && docsImage) await page.screenshot({ path: join(DOCS_IMAGES, docsImage) });
}

let database: TestDatabase;
let server: RunningServer;
let issuer: string;
let browser: Browser;
let app: { base: string; close(): Promise<void> };
let rpBase: string;
let web: oidc.Configuration;
let spa: oidc.Configuration;

/**
 * The authorization code flow as users and apps meet it: Debian's Chromium fills the issuer's pages,
 * and openid-client, a real and independent relying party, builds the requests and checks the
 * answers (state, iss, nonce, the id token's signature and claims). The redirect URIs point at a
 * small HTTP server of this test, so the browser really leaves the issuer.
 */
beforeAll(async () => {
  if (!hasBrowser) return;
  database = await createTestDatabase();
  app = await startAppServer();
  rpBase = app.base;

  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  // Only the app's API among the audiences: with openid granted, the token works at /userinfo all the same.
  const common = ['--scopes', 'openid profile email orders:read', '--audiences', API];
  const webClient = await seedClient(database.env, [
    '--name',
    'Web shop',
    '--grants',
    'authorization_code,refresh_token',
    '--redirect-uris',
    `${rpBase}/callback`,
    '--post-logout-redirect-uris',
    `${rpBase}/signed-out`,
    '--first-party',
    ...common,
  ]);
  const spaClient = await seedClient(database.env, [
    '--name',
    'Partner dashboard',
    '--public',
    '--grants',
    'authorization_code',
    '--redirect-uris',
    `${rpBase}/spa`,
    ...common,
  ]);
  await seedUser(database.env, ['--username', 'alice', '--email', 'alice@example.com', '--full-name', 'Alice Liddell'], PASSWORD);
  await seedUser(database.env, ['--username', 'bob', '--email', 'bob@example.com'], PASSWORD);
  await seedUser(database.env, ['--username', 'dave', '--email', 'dave@example.com'], PASSWORD);

  server = await startServer({
    ...database.env,
    ISSUER: issuer,
    PORT: String(port),
    ISSUER_DISPLAY_NAME: 'Example Corp',
    SIGNUP_ENABLED: 'true',
  });
  const insecure = { execute: [oidc.allowInsecureRequests] };
  web = await oidc.discovery(new URL(issuer), webClient.client_id, {}, oidc.ClientSecretBasic(webClient.client_secret), insecure);
  spa = await oidc.discovery(new URL(issuer), spaClient.client_id, {}, oidc.None(), insecure);
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await app?.close();
  await database?.drop();
});

/** The app's request, to one of its redirect paths: the scope of the shop's orders. */
const startSignIn = (config: oidc.Configuration, redirectPath: string, extra: Record<string, string> = {}) =>
  startAppSignIn(config, { redirect_uri: `${rpBase}${redirectPath}`, scope: 'openid profile orders:read', ...extra });

async function signInAtLoginPage(page: Page, password = PASSWORD, username = 'alice') {
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

describe.runIf(hasBrowser)('signing in through the pages in Chromium, with openid-client as the app', () => {
  let context: BrowserContext;
  let signedIn: { idToken: string; sub: string };

  it('a confidential client: login page, callback, code exchange, userinfo; the verifier accepts the token', async () => {
    context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchForCspViolations(page);
    const pending = await startSignIn(web, '/callback');
    await page.goto(pending.url.href);
    await expect(page.getByRole('heading', { name: 'Sign in to continue to Web shop' }).isVisible()).resolves.toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 420, height: 640 });
    await screenshot(page, 'login.png', 'sign-in.png');

    // A wrong password first: the same page, the reason in words.
    await signInAtLoginPage(page, 'not the password at all');
    await expect(page.getByRole('alert').innerText()).resolves.toContain('The username or password is incorrect.');
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'login-error.png');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${rpBase}/callback?**`);
    const tokens = await finishSignIn(web, pending, page.url());
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: issuer, aud: web.clientMetadata().client_id, nonce: pending.nonce });
    expect(tokens.refresh_token).toBeTruthy();
    const userinfo = await oidc.fetchUserInfo(web, tokens.access_token, claims.sub);
    expect(userinfo).toMatchObject({ sub: claims.sub, name: 'Alice Liddell' });
    const verifier = createVerifier({ issuer, audience: API });
    const principal = await verifier.verify(tokens.access_token);
    expect(principal).toMatchObject({ sub: claims.sub, clientId: web.clientMetadata().client_id });
    // A password alone: an API that requires a second factor says what is missing.
    expect(userAuthenticationShortfall(principal, { requireMfa: true })).toMatchObject({ acrValues: ACR_MULTI_FACTOR });
    expect(problems).toEqual([]);
    signedIn = { idToken: tokens.id_token!, sub: claims.sub };
  });

  it('single sign-on: a public third-party client asks for consent, not a password', async () => {
    const page = await context.newPage();
    const pending = await startSignIn(spa, '/spa');
    await page.goto(pending.url.href);
    await expect(page.getByRole('heading', { name: 'Partner dashboard would like to' }).isVisible()).resolves.toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 420, height: 640 });
    await screenshot(page, 'consent.png', 'consent.png');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${rpBase}/spa?**`);
    const tokens = await finishSignIn(spa, pending, page.url());
    expect(tokens.claims()!.sub).toBe(signedIn.sub);
    expect(tokens.claims()!.auth_time).toBeDefined();
  });

  it('prompt=none answers at once with a session, and login_required without one', async () => {
    const page = await context.newPage();
    const silent = await startSignIn(web, '/callback', { prompt: 'none' });
    await page.goto(silent.url.href);
    await page.waitForURL(`${rpBase}/callback?**`);
    expect((await finishSignIn(web, silent, page.url())).claims()!.sub).toBe(signedIn.sub);

    const stranger = await (await browser.newContext()).newPage();
    const refused = await startSignIn(web, '/callback', { prompt: 'none' });
    await stranger.goto(refused.url.href);
    await stranger.waitForURL(`${rpBase}/callback?**`);
    await expect(finishSignIn(web, refused, stranger.url())).rejects.toMatchObject({ error: 'login_required' });
  });

  it('max_age past and prompt=login show the login page again', async () => {
    const page = await context.newPage();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const aged = await startSignIn(web, '/callback', { max_age: '1' });
    await page.goto(aged.url.href);
    await expect(page.getByLabel('Password').isVisible()).resolves.toBe(true);
    const forced = await startSignIn(web, '/callback', { prompt: 'login' });
    await page.goto(forced.url.href);
    await signInAtLoginPage(page);
    await page.waitForURL(`${rpBase}/callback?**`);
    const tokens = await finishSignIn(web, forced, page.url());
    expect(Number(tokens.claims()!.auth_time)).toBeGreaterThan(0);
    signedIn = { idToken: tokens.id_token!, sub: tokens.claims()!.sub };
  });

  it('logout without a hint asks first; with one it ends the session and returns to the app', async () => {
    const page = await context.newPage();
    await page.goto(`${issuer}/session/end`);
    await expect(page.getByRole('heading', { name: 'Sign out?' }).isVisible()).resolves.toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Stay signed in' }).click();
    await expect(page.getByText('You are still signed in.').isVisible()).resolves.toBe(true);

    const logout = oidc.buildEndSessionUrl(web, {
      id_token_hint: signedIn.idToken,
      post_logout_redirect_uri: `${rpBase}/signed-out`,
      state: 'bye',
    });
    await page.goto(logout.href);
    await page.waitForURL(`${rpBase}/signed-out?state=bye`);
    const after = await startSignIn(web, '/callback', { prompt: 'none' });
    await page.goto(after.url.href);
    await page.waitForURL(`${rpBase}/callback?**`);
    await expect(finishSignIn(web, after, page.url())).rejects.toMatchObject({ error: 'login_required' });
  });

  it('signup from the login page and back to it; its email field looks like the others', async () => {
    const page = await (await browser.newContext()).newPage();
    const problems = watchForCspViolations(page);
    const pending = await startSignIn(web, '/callback');
    await page.goto(pending.url.href);
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByRole('heading', { name: 'Create an account' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    const look = (label: string) =>
      page.getByLabel(label).evaluate((input) => {
        const style = (globalThis as unknown as { getComputedStyle: (element: unknown) => Record<string, string> }).getComputedStyle(input);
        return [style.borderTopWidth, style.borderTopColor, style.borderRadius, style.paddingLeft, style.width, style.marginBottom];
      });
    expect(await look('Email address')).toEqual(await look('Username'));
    await page.setViewportSize({ width: 420, height: 760 });
    await screenshot(page, 'signup.png');

    await page.getByLabel('Username').fill('grace');
    await page.getByLabel('Email address').fill('grace@example.com');
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create the account' }).click();
    await expect(page.getByRole('alert').innerText()).resolves.toBe('The password is too short: use at least 15 characters.');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Create the account' }).click();
    await page.getByRole('status').filter({ hasText: 'Your account is ready.' }).waitFor();
    await page.getByRole('link', { name: 'Back to sign in' }).click();

    // The same sign-in goes on, with the new account.
    await page.getByLabel('Username or email').fill('grace');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${rpBase}/callback?**`);
    expect((await finishSignIn(web, pending, page.url())).claims()!.preferred_username).toBe('grace');
    expect(problems).toEqual([]);
  });

  it('the start page names the issuer and leads to the docs', async () => {
    const page = await (await browser.newContext()).newPage();
    const problems = watchForCspViolations(page);
    await page.goto(`${issuer}/`);
    await expect(page.locator('.brand').innerText()).resolves.toBe('Example Corp');
    expect(await axeViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 420, height: 560 });
    await screenshot(page, 'home.png');
    await page.getByRole('link', { name: 'API documentation' }).click();
    await page.waitForURL(`${issuer}/docs`);
    expect(problems).toEqual([]);
  });

  it('the reset page takes the token from the mailed link’s fragment, and drops it from the address bar', async () => {
    const page = await (await browser.newContext()).newPage();
    const problems = watchForCspViolations(page);
    await page.goto(`${issuer}/account/reset#token=abc_DEF-123`);
    await expect(page.getByLabel('Reset code (from the link in the email)').inputValue()).resolves.toBe('abc_DEF-123');
    expect(new URL(page.url()).hash).toBe('');
    expect(await axeViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('an app asking for MFA steps a password-only session up: an authenticator app added, no password again; the next sign-in asks for its code', async () => {
    const page = await (await browser.newContext()).newPage();
    const problems = watchForCspViolations(page);
    // Signed in with the password alone first.
    const plain = await startSignIn(web, '/callback');
    await page.goto(plain.url.href);
    await signInAtLoginPage(page, PASSWORD, 'bob');
    await page.waitForURL(`${rpBase}/callback?**`);
    expect((await finishSignIn(web, plain, page.url())).claims()!.amr).toEqual(['pwd']);
    // Then the app asks for MFA: straight to adding an app, the same session stepped up.
    const pending = await startSignIn(web, '/callback', { acr_values: ACR_MULTI_FACTOR });
    await page.goto(pending.url.href);
    await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
    await expect(page.getByLabel('Password').count()).resolves.toBe(0);
    await expect(page.getByRole('img', { name: 'QR code for your authenticator app' }).isVisible()).resolves.toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 375, height: 900 });
    await screenshot(page, 'enrol.png');
    const secret = (await page.locator('code.secret').innerText()).replace(/\s/g, '');
    await page.getByLabel('Verification or recovery code').fill(totpCodeAt(secret, new Date()));
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();

    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    await expect(page.locator('ul.codes li').count()).resolves.toBe(10);
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'recovery-codes.png');
    await page.getByRole('button', { name: 'I saved them, continue' }).click();
    await page.waitForURL(`${rpBase}/callback?**`);
    const enrolled = (await finishSignIn(web, pending, page.url())).claims()!;
    expect([enrolled.amr, enrolled.acr]).toEqual([['pwd', 'otp', 'mfa'], ACR_MULTI_FACTOR]);

    // Another browser: the password, then the code step (one field, which password managers fill).
    const other = await (await browser.newContext()).newPage();
    const otherProblems = watchForCspViolations(other);
    const next = await startSignIn(web, '/callback');
    await other.goto(next.url.href);
    await signInAtLoginPage(other, PASSWORD, 'bob');
    await other.getByRole('heading', { name: 'Enter a verification code' }).waitFor();
    const field = other.getByLabel('Verification or recovery code');
    await expect(field.getAttribute('autocomplete')).resolves.toBe('one-time-code');
    expect(await axeViolations(other)).toEqual([]);
    await other.setViewportSize({ width: 375, height: 700 });
    await screenshot(other, 'second-factor.png');
    const now = totpCodeAt(secret, new Date());
    await field.fill(String((Number(now) + 500_000) % 1_000_000).padStart(6, '0'));
    await other.getByRole('button', { name: 'Verify' }).click();
    await expect(other.getByRole('alert').innerText()).resolves.toContain('That code is incorrect or was already used.');
    expect(await axeViolations(other)).toEqual([]);
    // The next step's code: the one that turned the app on is spent.
    await other.getByLabel('Verification or recovery code').fill(totpCodeAt(secret, new Date(Date.now() + 30_000)));
    await other.getByRole('button', { name: 'Verify' }).click();
    await other.waitForURL(`${rpBase}/callback?**`);
    const tokens = await finishSignIn(web, next, other.url());
    expect(tokens.claims()!.amr).toEqual(['pwd', 'otp', 'mfa']);
    const principal = await createVerifier({ issuer, audience: API }).verify(tokens.access_token);
    expect(userAuthenticationShortfall(principal, { requireMfa: true, maxAge: 300 })).toBeUndefined();
    expect([...problems, ...otherProblems]).toEqual([]);
  });

  it('the account page adds an authenticator app, and the next sign-in asks for its code', async () => {
    const page = await (await browser.newContext()).newPage();
    const problems = watchForCspViolations(page);
    await page.goto(`${issuer}/account`);
    await signInAtLoginPage(page, PASSWORD, 'dave');
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    await page.getByRole('link', { name: 'Add an authenticator app' }).click();
    await page.getByRole('heading', { name: 'Set up two-step verification' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    const secret = (await page.locator('code.secret').innerText()).replace(/\s/g, '');
    await page.getByLabel('Verification or recovery code').fill(totpCodeAt(secret, new Date()));
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    await page.getByRole('link', { name: 'I saved them, back to your account' }).click();
    await expect(page.locator('ul.items').first().innerText()).resolves.toContain('Authenticator app');

    const other = await (await browser.newContext()).newPage();
    const pending = await startSignIn(web, '/callback');
    await other.goto(pending.url.href);
    await signInAtLoginPage(other, PASSWORD, 'dave');
    await other.getByLabel('Verification or recovery code').fill(totpCodeAt(secret, new Date(Date.now() + 30_000)));
    await other.getByRole('button', { name: 'Verify' }).click();
    await other.waitForURL(`${rpBase}/callback?**`);
    expect((await finishSignIn(web, pending, other.url())).claims()!.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(problems).toEqual([]);
  });
});
