import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBrowser, launchChromium } from '../support/chromium.js';
import { freePort, startServer, type RunningServer } from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;
let server: RunningServer;
let browser: Browser;

beforeAll(async () => {
  if (!hasBrowser) return;
  database = await createTestDatabase();
  // Not port 3000: "Try it out" must call the address the page came from.
  const port = await freePort();
  server = await startServer({ ...database.env, PORT: String(port), ISSUER: `http://127.0.0.1:${port}` });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await database?.drop();
});

describe.runIf(hasBrowser)('/docs in a real browser', () => {
  it('renders openapi.yaml with Swagger UI, the token endpoint listed, without a CSP violation', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    await page.goto(`${server.url}/docs`);
    const tokenOperation = page.locator('.opblock-summary-path', { hasText: /^\/token$/ });
    await tokenOperation.first().waitFor({ timeout: 20_000 });
    expect(await page.locator('.info .title').innerText()).toContain('token-issuer');
    expect(await page.locator('.opblock-summary-path', { hasText: /^\/admin\/users$/ }).count()).toBeGreaterThan(0);

    // Expanding an operation works, so the page's scripts run under its CSP.
    await tokenOperation.first().click();
    await page.locator('.opblock-body').first().waitFor({ timeout: 10_000 });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('"Try it out" calls this issuer, on whatever port it runs', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/docs`);
    const health = page.locator('.opblock', { has: page.locator('.opblock-summary-path', { hasText: /^\/healthz$/ }) });
    await health.locator('.opblock-summary').click();
    await health.locator('.try-out__btn').click();
    await health.locator('.execute').click();
    const status = health.locator('.live-responses-table .response .response-col_status');
    await status.first().waitFor({ timeout: 10_000 });
    expect((await status.first().innerText()).trim()).toBe('200');
    expect(await health.locator('.request-url pre').innerText()).toBe(`${server.url}/healthz`);
    await page.close();
  });
});
