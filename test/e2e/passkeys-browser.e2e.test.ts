import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACR_MULTI_FACTOR } from '@token-issuer/verifier';
import {
  axeViolations,
  finishSignIn,
  startAppServer,
  startSignIn as startAppSignIn,
  watchForCspViolations,
  type PendingSignIn,
} from '../support/browser-app.js';
import { hasBrowser, launchChromium, SCREENSHOTS } from '../support/chromium.js';
import { freePort, startServer, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const PASSWORD = 'violet cabinet river 7 lantern';

let database: TestDatabase;
let server: RunningServer;
let issuer: string;
let browser: Browser;
let app: { base: string; close(): Promise<void> };
let rpBase: string;
let web: oidc.Configuration;

/**
 * Passkeys in Debian's Chromium with a virtual authenticator (CDP WebAuthn domain), openid-client
 * as the app, the account page to register them. The issuer is http://localhost: an IP address cannot be a WebAuthn RP ID, and
 * localhost is a secure context.
 */
beforeAll(async () => {
  if (!hasBrowser) return;
  database = await createTestDatabase();
  app = await startAppServer();
  rpBase = app.base;
  const port = await freePort();
  issuer = `http://localhost:${port}`;
  // The issuer among the audiences: its account API takes the app's token.
  const webClient = await seedClient(database.env, [
    '--name',
    'Web shop',
    '--grants',
    'authorization_code',
    '--redirect-uris',
    `${rpBase}/callback`,
    '--post-logout-redirect-uris',
    `${rpBase}/signed-out`,
    '--first-party',
    '--scopes',
    'openid profile account',
    '--audiences',
    issuer,
  ]);
  await seedUser(database.env, ['--username', 'carol', '--email', 'carol@example.com'], PASSWORD);
  server = await startServer({ ...database.env, ISSUER: issuer, PORT: String(port), ISSUER_DISPLAY_NAME: 'Example Corp' });
  web = await oidc.discovery(new URL(issuer), webClient.client_id, {}, oidc.ClientSecretBasic(webClient.client_secret), {
    execute: [oidc.allowInsecureRequests],
  });
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await app?.close();
  await database?.drop();
});

const startSignIn = (extra: Record<string, string> = {}) =>
  startAppSignIn(web, { redirect_uri: `${rpBase}/callback`, scope: 'openid account', ...extra });

async function finishAt(page: Page, pending: PendingSignIn) {
  await page.waitForURL(`${rpBase}/callback?**`);
  return finishSignIn(web, pending, page.url());
}

/** A tab with a platform authenticator that verifies its user (Touch ID, Windows Hello). */
async function withAuthenticator(context: BrowserContext): Promise<{ page: Page; cdp: CDPSession; authenticatorId: string }> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { page, cdp, authenticatorId };
}

async function signInWithPassword(page: Page) {
  await page.getByLabel('Username or email').fill('carol');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

describe.runIf(hasBrowser)('passkeys in Chromium with a virtual authenticator', () => {
  let context: BrowserContext;
  let tab: Awaited<ReturnType<typeof withAuthenticator>>;

  it('registers a passkey on the account page, then signs in with the passkey alone; amr says so; a captured answer fails elsewhere', async () => {
    context = await browser.newContext();
    tab = await withAuthenticator(context);
    const { page } = tab;
    const problems = watchForCspViolations(page);

    // Signed in with a password at an app, the user opens the account page (single sign-on) and adds a passkey.
    const first = await startSignIn();
    await page.goto(first.url.href);
    await signInWithPassword(page);
    const tokens = await finishAt(page, first);
    await page.goto(`${issuer}/account`);
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 375, height: 1400 });
    await page.screenshot({ path: join(SCREENSHOTS, 'account.png'), fullPage: true });
    await page.getByRole('link', { name: 'Add a passkey' }).click();
    await page.getByRole('heading', { name: 'Add a passkey' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.getByLabel('Name (where the passkey is kept)').fill('Laptop');
    await page.getByRole('button', { name: 'Create the passkey' }).click();
    // The first sign-in method comes with recovery codes, shown once.
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    await expect(page.locator('ul.codes li').count()).resolves.toBe(10);
    await page.getByRole('link', { name: 'I saved them, back to your account' }).click();
    await expect(page.locator('ul.items').first().innerText()).resolves.toContain('Laptop');

    // Signed out, then back with the passkey alone. The login page asks the browser for a passkey
    // in the username field's autofill (conditional mediation); this authenticator answers at once,
    // as a person picking the passkey from the autofill would.
    await page.goto(
      oidc.buildEndSessionUrl(web, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${rpBase}/signed-out` }).href,
    );
    await page.waitForURL(`${rpBase}/signed-out`);
    const second = await startSignIn();
    const posted = page.waitForRequest((request) => request.url() === `${issuer}/authorize/passkey`);
    await page.goto(second.url.href);
    const captured = new URLSearchParams((await posted).postData() ?? '').get('credential')!;
    const claims = (await finishAt(page, second)).claims()!;
    expect([claims.amr, claims.acr]).toEqual([['hwk', 'user', 'mfa'], ACR_MULTI_FACTOR]);
    expect(claims.sub).toBe(tokens.claims()!.sub);
    expect(problems).toEqual([]);

    // Another browser, without the key: the login page offers a passkey button beside the password.
    const stranger = await (await browser.newContext()).newPage();
    const strangerProblems = watchForCspViolations(stranger);
    const theirs = await startSignIn();
    await stranger.goto(theirs.url.href);
    await stranger.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
    await expect(stranger.getByLabel('Username or email').getAttribute('autocomplete')).resolves.toBe('username webauthn');
    expect(await axeViolations(stranger)).toEqual([]);
    await stranger.setViewportSize({ width: 375, height: 760 });
    await stranger.screenshot({ path: join(SCREENSHOTS, 'login-passkey.png') });
    // The answer captured from the first browser, posted for this browser's own sign-in: refused.
    await stranger.evaluate((value) => {
      type Form = { elements: { namedItem(name: string): { value: string } }; submit(): void };
      const form = (globalThis as unknown as { document: { getElementById(id: string): Form } }).document.getElementById('passkey-form');
      form.elements.namedItem('credential').value = value;
      form.submit();
    }, captured);
    await stranger.getByRole('alert').filter({ hasText: 'That passkey could not sign you in.' }).waitFor();
    expect(new URL(stranger.url()).origin).toBe(issuer);
    expect(strangerProblems).toEqual([]);
  });

  it('offers the passkey as the second step after a password, and signs in with both', async () => {
    const other = await withAuthenticator(await browser.newContext());
    const { page } = other;
    const problems = watchForCspViolations(page);
    const pending = await startSignIn();
    await page.goto(pending.url.href);
    await signInWithPassword(page);
    await page.getByRole('heading', { name: 'Enter a verification code' }).waitFor();
    // Now the same credential in this browser's authenticator (as a synced passkey would arrive);
    // earlier, the login page's autofill would have used it at once.
    const { credentials } = await tab.cdp.send('WebAuthn.getCredentials', { authenticatorId: tab.authenticatorId });
    for (const credential of credentials)
      await other.cdp.send('WebAuthn.addCredential', { authenticatorId: other.authenticatorId, credential });
    const instead = page.getByRole('button', { name: 'Use a passkey instead' });
    await instead.waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await instead.click();
    const claims = (await finishAt(page, pending)).claims()!;
    expect([claims.amr, claims.acr]).toEqual([['pwd', 'hwk', 'mfa'], ACR_MULTI_FACTOR]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
