import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBrowser, launchChromium } from '../support/chromium.js';
import { freePort, startServer, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const API = 'https://orders.test';
const PASSWORD = 'violet cabinet river 7 lantern';
const OIDC_CLIENT = readFileSync(new URL('../../node_modules/oidc-client-ts/dist/browser/oidc-client-ts.js', import.meta.url), 'utf8');

/**
 * A single-page app registered exactly as the README's partner-dashboard (public, its redirect URI,
 * its API audience; no CORS_ORIGINS), signing in with oidc-client-ts, the most used browser OIDC
 * library, in Chromium: discovery, the code flow with PKCE, /userinfo and a refresh, all from the
 * app's own origin.
 */
let database: TestDatabase;
let issuer: RunningServer;
let app: Server;
let appOrigin: string;
let browser: Browser;
let clientId: string;

/** The app: its page and script, with the issuer and client filled in. */
function appScript(issuerUrl: string): string {
  return `
const manager = new oidc.UserManager({
  authority: ${JSON.stringify(issuerUrl)},
  client_id: ${JSON.stringify(clientId)},
  redirect_uri: location.origin + '/callback',
  scope: 'openid profile orders:read',
  loadUserInfo: true,
  automaticSilentRenew: false,
});
const show = (id, value) => { document.getElementById(id).textContent = value; };
if (location.pathname === '/callback') {
  manager.signinRedirectCallback().then(
    (user) => { show('name', user.profile.name); show('token', user.access_token); show('status', 'signed in'); },
    (error) => show('status', 'error: ' + error.message),
  );
}
document.getElementById('signin').onclick = () => manager.signinRedirect().catch((error) => show('status', 'error: ' + error.message));
document.getElementById('refresh').onclick = () =>
  manager.signinSilent().then(
    (user) => { show('token', user.access_token); show('status', 'refreshed'); },
    (error) => show('status', 'error: ' + error.message),
  );
`;
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>Partner dashboard</title>
<button id="signin">Sign in</button><button id="refresh">Refresh</button>
<p id="status"></p><p id="name"></p><p id="token"></p>
<script src="/oidc-client-ts.js"></script><script src="/app.js"></script>`;

beforeAll(async () => {
  if (!hasBrowser) return;
  database = await createTestDatabase();
  const appPort = await freePort();
  appOrigin = `http://localhost:${appPort}`;
  const client = await seedClient(database.env, [
    ...['--name', 'partner-dashboard', '--public', '--grants', 'authorization_code,refresh_token'],
    ...['--scopes', 'openid profile orders:read', '--audiences', API, '--redirect-uris', `${appOrigin}/callback`],
  ]);
  clientId = client.client_id;
  await seedUser(database.env, ['--username', 'alice', '--email', 'alice@example.com', '--full-name', 'Alice Liddell'], PASSWORD);
  const port = await freePort();
  const issuerUrl = `http://127.0.0.1:${port}`;
  issuer = await startServer({ ...database.env, ISSUER: issuerUrl, PORT: String(port) });
  app = createServer((request, response) => {
    const path = new URL(request.url ?? '/', appOrigin).pathname;
    const [type, body] =
      path === '/oidc-client-ts.js'
        ? ['text/javascript', OIDC_CLIENT]
        : path === '/app.js'
          ? ['text/javascript', appScript(issuerUrl)]
          : ['text/html; charset=utf-8', PAGE];
    response.writeHead(200, { 'Content-Type': type });
    response.end(body);
  });
  await new Promise<void>((resolve) => app.listen(appPort, '127.0.0.1', resolve));
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await issuer?.stop();
  await new Promise((resolve) => (app ? app.close(resolve) : resolve(undefined)));
  await database?.drop();
});

describe.runIf(hasBrowser)('a single-page app with oidc-client-ts, nothing configured but its registration', () => {
  it('signs in through the code flow, reads /userinfo and refreshes, all across origins', async () => {
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(10_000);
    const corsErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' && /CORS|Access-Control/i.test(message.text())) corsErrors.push(message.text());
    });
    await page.goto(appOrigin);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByLabel('Username or email').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    // A third-party app: the user allows what it asks for.
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${appOrigin}/callback?**`);
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toBe('signed in');
    // The name came from /userinfo, with the access token of a client whose only audience is its API.
    await expect(page.locator('#name').textContent()).resolves.toBe('Alice Liddell');
    const first = await page.locator('#token').textContent();

    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toBe('refreshed');
    const second = await page.locator('#token').textContent();
    expect(second).toBeTruthy();
    expect(second).not.toBe(first);
    expect(corsErrors).toEqual([]);
  });
});
