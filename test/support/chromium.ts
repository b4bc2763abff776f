import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Where the browser tests leave their screenshots (docs/images holds the ones the README shows). */
export const SCREENSHOTS = join(tmpdir(), 'token-issuer-screenshots');

/** Debian's chromium (.ci/run installs it); never a downloaded browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Without a browser the browser tests run only where one must be: CI fails loudly instead of skipping. */
export const hasBrowser = existsSync(CHROMIUM) || process.env.CI !== undefined;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // This machine has no network beyond the loopback: keep Chromium from trying.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
