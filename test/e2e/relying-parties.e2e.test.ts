import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import { auth } from 'express-openid-connect';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBrowser, launchChromium } from '../support/chromium.js';
import { hiddenFields, pageBrowser } from '../support/page-browser.js';
import { freePort, repositoryRoot, runCommand, startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const PASSWORD = 'violet cabinet river 7 lantern';
/** Debian's python3 with python3-authlib and python3-requests (.ci/run installs them). */
const PYTHON = '/usr/bin/python3';
const hasAuthlib =
  (existsSync('/usr/lib/python3/dist-packages/authlib') && existsSync('/usr/lib/python3/dist-packages/requests')) ||
  process.env.CI !== undefined;

let database: TestDatabase;
let server: RunningServer;
let issuer: string;
let appBase: string;
const clients = {} as Record<'express' | 'python' | 'pythonWithoutPkce', ClientCredentials>;
const PYTHON_CALLBACK = 'https://python.example.com/callback';

/** A confidential first-party web app for the code flow. */
const webApp = (name: string, redirectUri: string, extra: string[] = []) => [
  '--name',
  name,
  '--grants',
  'authorization_code',
  '--scopes',
  'openid profile',
  '--audiences',
  'https://app.example.com',
  '--redirect-uris',
  redirectUri,
  '--first-party',
  ...extra,
];

/**
 * The settings docs/relying-parties.md gives for each library, run against a real issuer: the
 * libraries that do not work with the defaults (express-openid-connect asks for an id_token and
 * returns to its base URL after logout; authlib sends no PKCE) work with them. openid-client is
 * run in sign-in-browser.e2e.test.ts, oidc-client-ts in single-page-app-browser.e2e.test.ts.
 */
beforeAll(async () => {
  database = await createTestDatabase();
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  appBase = `http://127.0.0.1:${await freePort()}`;
  // Seeded before the server starts: an embedded database belongs to one process.
  await seedUser(database.env, ['--username', 'alice', '--email', 'alice@example.com'], PASSWORD);
  // As docs/relying-parties.md registers them. express-openid-connect returns to its base URL
  // exactly as configured after logout (no trailing slash).
  clients.express = await seedClient(database.env, webApp('Express app', `${appBase}/callback`, ['--post-logout-redirect-uris', appBase]));
  clients.python = await seedClient(database.env, webApp('Python app', PYTHON_CALLBACK));
  clients.pythonWithoutPkce = await seedClient(database.env, webApp('Python app, no PKCE', PYTHON_CALLBACK, ['--pkce-optional']));
  server = await startServer({ ...database.env, ISSUER: issuer, PORT: String(port) });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

describe.runIf(hasBrowser)('express-openid-connect, in Chromium', () => {
  let browser: Browser;
  let app: Server;

  beforeAll(async () => {
    const client = clients.express;
    const web = express();
    web.use(
      auth({
        issuerBaseURL: issuer,
        baseURL: appBase,
        clientID: client.client_id,
        clientSecret: client.client_secret,
        secret: randomBytes(32).toString('base64url'),
        authRequired: false,
        idpLogout: true,
        authorizationParams: { response_type: 'code', scope: 'openid profile' },
      }),
    );
    web.get('/', (request, response) => {
      response.send(request.oidc.isAuthenticated() ? `signed in as ${String(request.oidc.user?.preferred_username)}` : 'signed out');
    });
    app = await new Promise<Server>((resolve) => {
      const listening = web.listen(Number(new URL(appBase).port), '127.0.0.1', () => resolve(listening));
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (app ? app.close(resolve) : resolve(undefined)));
  });

  it('signs in with the code flow and PKCE, and signs out at the issuer back to the app', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${appBase}/login`);
    await page.getByLabel('Username or email').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${appBase}/`);
    await expect(page.locator('body').innerText()).resolves.toBe('signed in as alice');

    // idpLogout: the issuer ends its session (a valid id_token_hint, so without asking) and returns.
    await page.goto(`${appBase}/logout`);
    await page.waitForURL(appBase);
    await expect(page.locator('body').innerText()).resolves.toBe('signed out');
    // The issuer's session is gone too: the next sign-in asks for the password.
    await page.goto(`${appBase}/login`);
    await page.getByLabel('Password').waitFor();
    expect(new URL(page.url()).origin).toBe(issuer);
  });
});

describe.runIf(hasAuthlib)("Python's authlib", () => {
  async function authlib(step: Record<string, unknown>): Promise<Record<string, string>> {
    const result = await runCommand(
      PYTHON,
      [join(repositoryRoot, 'test/support/authlib-client.py')],
      {},
      JSON.stringify({ issuer, ...step }),
    );
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Record<string, string>;
  }

  /** The browser's part: follow the app's authorization URL, sign in, and come back with the callback URL. */
  async function signIn(authorizationUrl: string): Promise<URL> {
    const browser = pageBrowser((path, init) => fetch(new URL(path, issuer), { ...init, redirect: 'manual' }));
    const started = await browser.get(authorizationUrl);
    const next = new URL(started.headers.get('Location')!, issuer);
    if (next.origin !== issuer) return next; // an error, straight back to the app
    const page = await (await browser.get(next.pathname + next.search)).text();
    const answer = await browser.post('/authorize/login', { ...hiddenFields(page), username: 'alice', password: PASSWORD });
    return new URL(answer.headers.get('Location')!);
  }

  async function run(registered: { client_id: string; client_secret: string }, pkce: boolean) {
    const common = { client_id: registered.client_id, client_secret: registered.client_secret, redirect_uri: PYTHON_CALLBACK, pkce };
    const started = await authlib({ ...common, step: 'authorize' });
    const callback = await signIn(started.url!);
    return { started, callback, finish: () => authlib({ ...common, ...started, step: 'callback', callback_url: callback.href }) };
  }

  it('by default sends no PKCE, which the issuer refuses at the redirect URI', async () => {
    const { callback } = await run(clients.python, false);
    expect(callback.searchParams.get('error')).toBe('invalid_request');
    expect(callback.searchParams.get('error_description')).toMatch(/^code_challenge is required/);
  });

  it("with code_challenge_method='S256' signs in; the id token checks out", async () => {
    const { started, callback, finish } = await run(clients.python, true);
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect(await finish()).toMatchObject({ nonce: started.nonce, sub: expect.any(String) });
  });

  it('without PKCE signs in to a client registered with --pkce-optional, by its nonce', async () => {
    const registered = clients.pythonWithoutPkce;
    const { started, finish } = await run(registered, false);
    expect(started.url).not.toContain('code_challenge');
    expect(await finish()).toMatchObject({ nonce: started.nonce, aud: registered.client_id });
  });
});
