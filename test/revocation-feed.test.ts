import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { revokeSessions } from '../src/revocation/ending-sessions.js';
import { registerUser } from '../src/users/accounts.js';
import { createInProcessApp, type InProcessApp } from './support/in-process-app.js';

/**
 * The revocation feed in-process: what the snapshot holds (token ids and cut-offs on the wire, and
 * nothing else), and the limit of streams per instance. Across processes and instances:
 * e2e/revocation-feed.e2e.test.ts.
 */
const ISSUER = 'http://issuer.test';
let harness: InProcessApp;
let reader: CreatedClient;
let token: string;

beforeAll(async () => {
  harness = await createInProcessApp({ issuer: ISSUER, env: { REVOCATION_FEED_MAX_CONNECTIONS: '2' } });
  reader = await createClient(harness.database.db, {
    name: 'items-api',
    grantTypes: ['client_credentials'],
    scopes: ['revocations:read'],
    audiences: [ISSUER],
  });
  const answer = await harness.app.request('/token', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: `Basic ${Buffer.from(`${reader.id}:${reader.secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  token = ((await answer.json()) as { access_token: string }).access_token;
});
afterAll(() => harness?.close());

const get = (path: string, headers: Record<string, string> = {}) =>
  harness.app.request(path, { headers: { Authorization: `Bearer ${token}`, ...headers } });

describe('the revocation feed', () => {
  it('holds revoked token ids and cut-offs as the denylist does, and a cursor to follow from', async () => {
    const user = await registerUser(harness.accounts, { username: 'hana', email: 'hana@example.com' }, 'a long and quiet passphrase');
    const before = Date.now();
    await revokeSessions(
      harness.revocation,
      { userId: user.id },
      { type: 'user_sessions_revoked', userId: user.id, reason: 'test' },
      {
        alsoRevoke: [{ jti: 'a-revoked-token-id', expiresAt: Math.floor(Date.now() / 1000) + 600 }],
      },
    );
    const snapshot = (await (await get('/revocations')).json()) as { cursor: string; entries: { jti: string; expiresAt: number }[] };
    expect(Number(snapshot.cursor)).toBeGreaterThanOrEqual(before);
    const members = snapshot.entries.map((entry) => entry.jti);
    expect(members).toContain('a-revoked-token-id');
    expect(members.some((member) => member.startsWith(':cutoff:sub:') && member.endsWith(`:${user.id}`))).toBe(true);
    // Only the wire pairs: no reason, no user name, no client.
    expect(snapshot.entries.every((entry) => Object.keys(entry).sort().join() === 'expiresAt,jti')).toBe(true);
  });

  it('serves at most REVOCATION_FEED_MAX_CONNECTIONS streams at once, then 429 with Retry-After', async () => {
    const open = [await get('/revocations/stream'), await get('/revocations/stream')];
    expect(open.map((response) => response.status)).toEqual([200, 200]);
    try {
      const third = await get('/revocations/stream');
      expect([third.status, third.headers.get('retry-after')]).toEqual([429, '5']);
    } finally {
      await Promise.all(open.map((response) => response.body?.cancel()));
    }
    // Their places are free again.
    await expect
      .poll(
        async () => {
          const again = await get('/revocations/stream');
          await again.body?.cancel();
          return again.status;
        },
        { timeout: 3_000, interval: 100 },
      )
      .toBe(200);
  });
});
