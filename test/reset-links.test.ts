import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordResetTokens } from '../src/db/schema.js';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import type { MailMessage } from '../src/mail/mailer.js';
import { accountDependenciesFrom, changePassword, registerUser, setUserEnabled } from '../src/users/accounts.js';
import { requestPasswordReset } from '../src/users/password-reset.js';
import type { User } from '../src/users/user-store.js';
import { createInProcessApp, type InProcessApp } from './support/in-process-app.js';

const ISSUER = 'http://issuer.test';
const PASSWORD = 'a long and proper passphrase';
const NEW_PASSWORD = 'another long and proper passphrase';

let harness: InProcessApp;
let web: CreatedClient;

let adminToken: string;
let counter = 0;

const json = (method: string, path: string, body: unknown, token?: string) =>
  harness.app.request(path, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

async function signIn(username: string, scope = ''): Promise<string> {
  const response = await harness.app.request('/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      username,
      password: PASSWORD,
      scope,
      client_id: web.id,
      client_secret: web.secret!,
    }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A new user with a reset link in hand, as the mail would carry it. */
async function userWithResetLink(): Promise<{ user: User; link: string }> {
  counter += 1;
  const user = await registerUser(harness.accounts, { username: `user${counter}`, email: `user${counter}@example.com` }, PASSWORD);
  const sent: MailMessage[] = [];
  await requestPasswordReset(
    {
      accounts: harness.accounts,
      revocation: harness.revocation,
      mailer: { send: async (message) => void sent.push(message), close: () => {} },
      policy: { url: `${ISSUER}/reset`, ttlSeconds: 3600 },
    },
    user.email,
    undefined,
  );
  const link = /#token=([A-Za-z0-9_-]+)/.exec(sent[0]!.text)![1]!;
  return { user, link };
}

const useLink = async (link: string) => {
  const response = await json('POST', '/password/reset', { token: link, new_password: NEW_PASSWORD });
  return [response.status, response.status === 204 ? undefined : ((await response.json()) as { error: string }).error];
};

beforeAll(async () => {
  harness = await createInProcessApp({ issuer: ISSUER });
  web = await createClient(harness.database.db, {
    name: 'web',
    grantTypes: ['password'],
    scopes: ['admin', 'account'],
    audiences: [ISSUER],
  });
  await registerUser(harness.accounts, { username: 'root', email: 'root@example.com', roles: ['admin', 'user'] }, PASSWORD);
  adminToken = await signIn('root', 'admin');
});

afterAll(() => harness?.close());

describe('a password-reset link', () => {
  it('works when nothing happened in between', async () => {
    const { link } = await userWithResetLink();
    expect(await useLink(link)).toEqual([204, undefined]);
    expect(await useLink(link)).toEqual([400, 'invalid_reset_token']);
  });

  it('mailed before migration 0013 re-encoded the stored hashes (hex to base64url) still works', async () => {
    const { user } = await userWithResetLink();
    const token = randomBytes(32).toString('base64url');
    const hexHash = createHash('sha256').update(token).digest('hex');
    const db = harness.database.db;
    await db.insert(passwordResetTokens).values({ tokenHash: hexHash, userId: user.id, expiresAt: new Date(Date.now() + 600_000) });
    await db.execute(sql.raw(readFileSync(new URL('../drizzle/0013_opaque_token_hashes.sql', import.meta.url), 'utf8')));
    expect(await useLink(token)).toEqual([204, undefined]);
  });

  it.each<[string, (user: User) => Promise<void>]>([
    [
      'the user changes their email',
      async (user) =>
        expect(
          (await json('PATCH', '/me', { email: `new-${user.email}`, current_password: PASSWORD }, await signIn(user.username))).status,
        ).toBe(200),
    ],
    [
      'the user changes their password',
      async (user) =>
        expect(
          (await json('POST', '/me/password', { current_password: PASSWORD, new_password: NEW_PASSWORD }, await signIn(user.username)))
            .status,
        ).toBe(200),
    ],
    [
      'an admin changes their email',
      async (user) =>
        expect((await json('PATCH', `/admin/users/${user.id}`, { email: `moved-${user.email}` }, adminToken)).status).toBe(200),
    ],
    [
      'an admin disables them',
      async (user) => expect((await json('PATCH', `/admin/users/${user.id}`, { active: false }, adminToken)).status).toBe(200),
    ],
    [
      'the user is disabled and enabled again (CLI)',
      async (user) => {
        await setUserEnabled(harness.revocation, user.username, false);
        await setUserEnabled(harness.revocation, user.username, true);
      },
    ],
    [
      'an operator sets a password (CLI)',
      async (user) =>
        void (await changePassword(
          accountDependenciesFrom(harness.config, harness.database.db),
          harness.revocation,
          user.username,
          NEW_PASSWORD,
        )),
    ],
    [
      'another reset link is used',
      async (user) => {
        const sent: MailMessage[] = [];
        const deps = {
          accounts: harness.accounts,
          revocation: harness.revocation,
          mailer: { send: async (message: MailMessage) => void sent.push(message), close: () => {} },
          policy: { url: `${ISSUER}/reset`, ttlSeconds: 3600 },
        };
        await requestPasswordReset(deps, user.email, undefined);
        expect(await useLink(/#token=([A-Za-z0-9_-]+)/.exec(sent[0]!.text)![1]!)).toEqual([204, undefined]);
      },
    ],
  ])('dies when %s', async (_event, event) => {
    const { user, link } = await userWithResetLink();
    await event(user);
    expect(await useLink(link)).toEqual([400, 'invalid_reset_token']);
  });

  it('survives a change that is not its business (the full name)', async () => {
    const { user, link } = await userWithResetLink();
    expect((await json('PATCH', '/me', { full_name: 'Someone Else' }, await signIn(user.username))).status).toBe(200);
    expect(await useLink(link)).toEqual([204, undefined]);
  });
});
