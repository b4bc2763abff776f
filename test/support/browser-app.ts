import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { freePort } from './processes.js';

/**
 * What the browser tests share: the app the issuer redirects back to (a small HTTP server, so the
 * browser really leaves the issuer), the app's side of the code flow with openid-client, and the
 * checks every page gets (axe, the CSP).
 */

/** The app's own origin: every path answers a small page. Stop it with `close`. */
export async function startAppServer(): Promise<{ base: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><title>app</title><p>${request.url?.startsWith('/signed-out') ? 'signed out' : 'back at the app'}</p>`);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** What the app keeps between the redirect and the callback. */
export interface PendingSignIn {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

/** The app's authorization request: PKCE, state and nonce, as openid-client builds it. */
export async function startSignIn(config: oidc.Configuration, parameters: Record<string, string>): Promise<PendingSignIn> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...parameters,
  });
  return { url, verifier, state, nonce };
}

/** The callback, as the app handles it: openid-client checks iss, state, the code exchange and the id token. */
export function finishSignIn(config: oidc.Configuration, pending: PendingSignIn, callbackUrl: string) {
  return oidc.authorizationCodeGrant(config, new URL(callbackUrl), {
    pkceCodeVerifier: pending.verifier,
    expectedState: pending.state,
    expectedNonce: pending.nonce,
    idTokenExpected: true,
  });
}

const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

/** axe-core's serious and critical findings on the page as it is now. */
export async function axeViolations(page: Page) {
  // Evaluated through the DevTools protocol, which the page's CSP (no inline script) does not govern.
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: () => Promise<{ violations: { id: string; impact: string }[] }> } }).axe;
    return axe.run();
  });
  return result.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

/** Collects what the page's CSP refused, and script errors, from here on. */
export function watchForCspViolations(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    // Not the 401 of a wrong password or the browser's favicon request: what the page's CSP refused.
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}
