import { join } from 'node:path';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFromEnvironment } from '../../src/cli/cli-context.js';
import { runCli } from '../../src/cli/run.js';
import { axeViolations, finishSignIn, startAppServer, startSignIn as startAppSignIn, type PendingSignIn } from '../support/browser-app.js';
import { hasBrowser, launchChromium, SCREENSHOTS } from '../support/chromium.js';
import { freePort, startServer, startUpstreamProvider, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const PASSWORD = 'violet cabinet river 7 lantern';
const UPSTREAM_SECRET = 'upstream-client-secret-upstream-client-secret';

let database: TestDatabase;
let server: RunningServer;
let upstream: RunningServer;
let issuer: string;
let upstreamIssuer: string;
let browser: Browser;
let app: { base: string; close(): Promise<void> };
let rpBase: string;
let web: oidc.Configuration;
let added: { code: number | null; stdout: string };
let erin: { id: string };
/** A machine client of the operators' (scope admin), to read the audit trail. */
let auditor: { client_id: string; client_secret: string };

/**
 * Signing in with another OpenID Connect provider: node-oidc-provider in its own process is the
 * upstream (its development login form), registered with `token-issuer providers add`; Debian's
 * Chromium signs in; openid-client is the app. Accounts are found by the upstream `sub`, never by
 * email: an upstream account with the email of an existing account here does not sign in to it.
 */
beforeAll(async () => {
  if (!hasBrowser) return;
  database = await createTestDatabase();
  app = await startAppServer();
  rpBase = app.base;
  const [port, upstreamPort] = [await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${port}`;
  upstreamIssuer = `http://localhost:${upstreamPort}`;
  upstream = await startUpstreamProvider({
    PORT: String(upstreamPort),
    CLIENT_SECRET: UPSTREAM_SECRET,
    REDIRECT_URI: `${issuer}/authorize/callback`,
  });
  const webClient = await seedClient(database.env, [
    '--name',
    'Web shop',
    '--grants',
    'authorization_code',
    '--redirect-uris',
    `${rpBase}/callback`,
    '--first-party',
    '--scopes',
    'openid profile email',
    '--audiences',
    'https://orders.test',
  ]);
  auditor = await seedClient(database.env, [
    '--name',
    'Auditor',
    '--grants',
    'client_credentials',
    '--scopes',
    'admin',
    '--audiences',
    issuer,
  ]);
  erin = await seedUser(database.env, ['--username', 'erin', '--email', 'erin@upstream.test'], PASSWORD);
  await seedUser(database.env, ['--username', 'hank', '--email', 'hank@example.com'], PASSWORD);
  const env = { ...database.env, ISSUER: issuer };
  // The operator's command, in this process: discovery of the upstream, the secret from stdin.
  const outcome = await runCli(
    ['providers', 'add', '--name', 'acme', '--type', 'oidc', '--issuer', upstreamIssuer, '--client-id', 'token-issuer'].concat([
      '--client-secret-stdin',
      '--display-name',
      'Acme',
      '--allow-signup',
    ]),
    { readStdin: async () => `${UPSTREAM_SECRET}\n`, warn: () => {} },
    openFromEnvironment(env),
  );
  added = { code: outcome.exitCode, stdout: outcome.stdout };
  server = await startServer({ ...env, PORT: String(port), ISSUER_DISPLAY_NAME: 'Example Corp' });
  web = await oidc.discovery(new URL(issuer), webClient.client_id, {}, oidc.ClientSecretBasic(webClient.client_secret), {
    execute: [oidc.allowInsecureRequests],
  });
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await upstream?.stop();
  await app?.close();
  await database?.drop();
});

const startSignIn = () => startAppSignIn(web, { redirect_uri: `${rpBase}/callback`, scope: 'openid profile email' });

/** At the login page: "Sign in with Acme", then the upstream's login and consent as `login`. */
async function signInUpstream(page: Page, login: string) {
  await page.getByRole('link', { name: 'Sign in with Acme' }).click();
  await page.waitForURL(`${upstreamIssuer}/**`);
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('anything');
  await page.locator('button[type=submit]').click();
  // node-oidc-provider's development consent step.
  await page.locator('button[type=submit]').click();
}

/** The account page, signed in with a password. */
async function accountPageAs(page: Page, username: string) {
  await page.goto(`${issuer}/account`);
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
}

async function finishAt(page: Page, pending: PendingSignIn) {
  await page.waitForURL(`${rpBase}/callback?**`);
  return finishSignIn(web, pending, page.url());
}

/** The reasons of the audit events of a type, oldest first, read through the admin API. */
async function auditReasons(type: string): Promise<(string | null)[]> {
  const token = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${auditor.client_id}:${auditor.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }),
  });
  const { access_token } = (await token.json()) as { access_token: string };
  const events = await fetch(`${issuer}/admin/audit?type=${type}`, { headers: { Authorization: `Bearer ${access_token}` } });
  const { items } = (await events.json()) as { items: { details: { reason?: string } | null }[] };
  return items.reverse().map((event) => event.details?.reason ?? null);
}

describe.runIf(hasBrowser)('signing in with an upstream OpenID Connect provider', () => {
  let franksSub: string;
  let capturedCallback: string;

  it('is registered by discovery, and tells the operator the redirect URI to register there', () => {
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({
      name: 'acme',
      issuer: upstreamIssuer,
      has_client_secret: true,
      redirect_uri: `${issuer}/authorize/callback`,
    });
    expect(added.stdout).not.toContain(UPSTREAM_SECRET);
  });

  it('creates an account at the first sign-in, and finds the same one by the upstream sub the next time', async () => {
    const page = await (await browser.newContext()).newPage();
    page.on('request', (request) => {
      if (request.url().startsWith(`${issuer}/authorize/callback`)) capturedCallback = request.url();
    });
    const first = await startSignIn();
    await page.goto(first.url.href);
    await page.getByRole('link', { name: 'Sign in with Acme' }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await page.setViewportSize({ width: 375, height: 760 });
    await page.screenshot({ path: join(SCREENSHOTS, 'login-providers.png') });
    await signInUpstream(page, 'frank');
    const claims = (await finishAt(page, first)).claims()!;
    expect(claims).toMatchObject({ email: 'frank@upstream.test', amr: ['fed'], idp: 'acme' });
    franksSub = claims.sub;

    const again = await (await browser.newContext()).newPage();
    const second = await startSignIn();
    await again.goto(second.url.href);
    await signInUpstream(again, 'frank');
    expect((await finishAt(again, second)).claims()!.sub).toBe(franksSub);
  });

  it('refuses a replayed callback, in this browser or another', async () => {
    for (const context of [await browser.newContext(), await browser.newContext()]) {
      const page = await context.newPage();
      const response = await page.goto(capturedCallback);
      expect(response!.status()).toBe(400);
    }
  });

  it('never signs in to an existing account by a matching email, verified or not; both refusals are audited', async () => {
    for (const login of ['erin', 'gina']) {
      const page = await (await browser.newContext()).newPage();
      const pending = await startSignIn();
      await page.goto(pending.url.href);
      await signInUpstream(page, login);
      await page.getByRole('alert').waitFor();
      expect(new URL(page.url()).origin).toBe(issuer);
      expect(await page.getByRole('alert').innerText()).toMatch(
        login === 'erin' ? /an account with this email address exists/i : /did not vouch/i,
      );
      expect(await axeViolations(page)).toEqual([]);
    }
    // After the two replayed callbacks of the test before.
    expect(await auditReasons('upstream_sign_in_refused')).toEqual([
      'unknown_state',
      'unknown_state',
      'email_in_use',
      'email_not_verified',
    ]);
  });

  it('links an existing account only with proof of both: signed in here, and an email the provider verified', async () => {
    const page = await (await browser.newContext()).newPage();
    await accountPageAs(page, 'erin');
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('link', { name: 'Link your Acme account' }).click();
    await page.waitForURL(`${upstreamIssuer}/**`);
    await page.locator('input[name=login]').fill('erin');
    await page.locator('input[name=password]').fill('anything');
    await page.locator('button[type=submit]').click();
    await page.locator('button[type=submit]').click();
    await page.getByRole('heading', { name: 'Your account' }).waitFor();
    await expect(page.getByText('linked as erin@upstream.test').isVisible()).resolves.toBe(true);

    // Now the Acme account signs in to Erin's account here.
    const other = await (await browser.newContext()).newPage();
    const pending = await startSignIn();
    await other.goto(pending.url.href);
    await signInUpstream(other, 'erin');
    expect((await finishAt(other, pending)).claims()!.sub).toBe(erin.id);

    // An upstream account whose email the provider did not verify never links.
    const hank = await (await browser.newContext()).newPage();
    await accountPageAs(hank, 'hank');
    await hank.getByRole('link', { name: 'Link your Acme account' }).click();
    await hank.waitForURL(`${upstreamIssuer}/**`);
    await hank.locator('input[name=login]').fill('gina');
    await hank.locator('input[name=password]').fill('anything');
    await hank.locator('button[type=submit]').click();
    await hank.locator('button[type=submit]').click();
    await hank.getByRole('heading', { name: 'Not linked' }).waitFor();
    expect(await auditReasons('identity_linked')).toEqual([null]);
  });
});
