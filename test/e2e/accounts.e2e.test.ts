import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, clientToken, refresh, signIn } from '../support/api-client.js';
import { verifyAgainstJwks } from '../support/oauth-client.js';
import { startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient } from '../support/seed.js';
import { startSmtpInbox, type SmtpInbox } from '../support/smtp-inbox.js';
import { createInProcessApp } from '../support/in-process-app.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const API = 'https://orders.internal';
const RESET_PAGE = 'https://app.example.com/reset-password';
const PASSWORD = 'correct horse battery staple';

let database: TestDatabase;
let server: RunningServer;
let inbox: SmtpInbox;
/** A first-party app whose tokens are also for the issuer's own account endpoints. */
let app: ClientCredentials;
/** Tokens for the orders API only. */
let ordersOnly: ClientCredentials;
/** A machine client with a token for the issuer, without the admin scope. */
let worker: ClientCredentials;
let url: string;

beforeAll(async () => {
  database = await createTestDatabase();
  inbox = await startSmtpInbox();
  const user = ['--grants', 'password,refresh_token', '--scopes', 'openid profile email account admin orders:read'];
  app = await seedClient(database.env, ['--name', 'app', ...user, '--audiences', `${API},${ISSUER}`]);
  ordersOnly = await seedClient(database.env, ['--name', 'orders-app', ...user, '--audiences', API]);
  worker = await seedClient(database.env, [
    '--name',
    'worker',
    '--grants',
    'client_credentials',
    '--scopes',
    'orders:read',
    '--audiences',
    ISSUER,
  ]);
  server = await startServer({
    ...database.env,
    ISSUER,
    SIGNUP_ENABLED: 'true',
    SMTP_URL: inbox.url,
    MAIL_FROM: 'Accounts <accounts@example.com>',
    PASSWORD_RESET_URL: RESET_PAGE,
    // The per-IP limits have tests of their own (rate-limits.e2e.test.ts); every request here comes from one address.
    SIGNUP_RATE_LIMIT_PER_IP: '1000',
    PASSWORD_FORGOT_RATE_LIMIT_PER_IP: '1000',
  });
  url = server.url;
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await inbox?.close();
  await database?.drop();
});

let serial = 0;
/** A new account through /signup, signed in through the app. */
async function newAccount(prefix = 'user') {
  serial += 1;
  const username = `${prefix}${serial}`;
  const email = `${username}@example.com`;
  const created = await callApi(url, 'POST', '/signup', { json: { username, email, password: PASSWORD } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const tokens = await signIn(url, app, username, PASSWORD);
  expect(tokens.status).toBe(200);
  return {
    id: String(created.body.id),
    username,
    email,
    access: String(tokens.body.access_token),
    refresh: String(tokens.body.refresh_token),
  };
}

describe('POST /signup', () => {
  it('creates an account that can sign in at once, and never shows the hash', async () => {
    const created = await callApi(url, 'POST', '/signup', {
      json: { username: 'Maya', email: 'Maya@Example.com', password: PASSWORD, full_name: 'Maya Angel' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      username: 'Maya',
      email: 'maya@example.com',
      full_name: 'Maya Angel',
      roles: ['user'],
      is_active: true,
    });
    expect(JSON.stringify(created.body)).not.toMatch(/argon2|password_hash|correct horse/);

    const tokens = await signIn(url, app, 'maya', PASSWORD);
    expect(tokens.status).toBe(200);
    const { payload } = await verifyAgainstJwks(url, String(tokens.body.access_token), { issuer: ISSUER, typ: 'at+jwt', audience: ISSUER });
    expect(payload.sub).toBe(created.body.id);
  });

  it('answers 409 for a taken username or email, with one message that does not say which', async () => {
    await callApi(url, 'POST', '/signup', { json: { username: 'taken', email: 'taken@example.com', password: PASSWORD } });
    const sameName = await callApi(url, 'POST', '/signup', { json: { username: 'TAKEN', email: 'other@example.com', password: PASSWORD } });
    const sameEmail = await callApi(url, 'POST', '/signup', {
      json: { username: 'other', email: 'Taken@example.com', password: PASSWORD },
    });
    expect([sameName.status, sameEmail.status]).toEqual([409, 409]);
    expect(sameName.body).toEqual(sameEmail.body);
    expect(sameName.body.error).toBe('account_exists');
  });

  it.each([
    [{ username: 'nia', email: 'nia@example.com', password: PASSWORD, color: 'red' }, 'color: not a known field'],
    [{ username: 'nia', email: 'nia@example.com' }, 'password:'],
    [{ username: 'n', email: 'nia@example.com', password: PASSWORD }, 'username: a username is 3 to 64'],
    [{ username: 'nia', email: 'not-an-address', password: PASSWORD }, 'email:'],
    [{ username: 'nia', email: 'nia@example.com', password: 5 }, 'password:'],
    [{ username: 'nia', email: 'nia@example.com', password: 'short' }, 'at least 15 characters'],
    [{ username: 'nia', email: 'nia@example.com', password: 'passwordpassword' }, 'too common'],
  ])('refuses %j, naming what is wrong, and creates nothing', async (body, message) => {
    const response = await callApi(url, 'POST', '/signup', { json: body });
    expect(response.status).toBe(400);
    expect(String(response.body.error_description)).toContain(message);
  });

  it('refuses a duplicated member, a wrong media type, broken JSON and an oversized body', async () => {
    const duplicated = await callApi(url, 'POST', '/signup', {
      body: `{"username":"nia","email":"nia@example.com","password":"${PASSWORD}","username":"root"}`,
    });
    expect([duplicated.status, duplicated.body.error_description]).toEqual([400, 'username: given more than once']);
    const form = await callApi(url, 'POST', '/signup', { body: 'username=nia', contentType: 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    const broken = await callApi(url, 'POST', '/signup', { body: '{"username":' });
    expect([broken.status, broken.body.error]).toEqual([400, 'invalid_request']);
    const huge = await callApi(url, 'POST', '/signup', {
      json: { username: 'nia', email: 'nia@example.com', password: 'x'.repeat(20_000) },
    });
    expect(huge.status).toBe(413);
  });

  it('created nothing for any refused request: the name is still free', async () => {
    const created = await callApi(url, 'POST', '/signup', { json: { username: 'nia', email: 'nia@example.com', password: PASSWORD } });
    expect(created.status).toBe(201);
  });
});

describe('GET and PATCH /me', () => {
  it('shows and changes the caller’s own profile', async () => {
    const account = await newAccount();
    const shown = await callApi(url, 'GET', '/me', { token: account.access });
    expect(shown.status).toBe(200);
    expect(shown.headers.get('cache-control')).toBe('no-store');
    expect(shown.body).toMatchObject({ id: account.id, username: account.username, email: account.email, full_name: null });

    const renamed = await callApi(url, 'PATCH', '/me', { token: account.access, json: { full_name: 'Ola Nordmann' } });
    expect([renamed.status, renamed.body.full_name]).toEqual([200, 'Ola Nordmann']);
  });

  it('changes the email only with the current password, and refuses a taken one', async () => {
    const account = await newAccount();
    const other = await newAccount();
    const withoutPassword = await callApi(url, 'PATCH', '/me', { token: account.access, json: { email: 'new@example.com' } });
    expect([withoutPassword.status, withoutPassword.body.error_description]).toEqual([400, 'current_password: required for this change']);
    const wrongPassword = await callApi(url, 'PATCH', '/me', {
      token: account.access,
      json: { email: 'new@example.com', current_password: 'not the password at all' },
    });
    expect([wrongPassword.status, wrongPassword.body.error]).toEqual([403, 'incorrect_password']);
    const taken = await callApi(url, 'PATCH', '/me', { token: account.access, json: { email: other.email, current_password: PASSWORD } });
    expect(taken.status).toBe(409);

    const changed = await callApi(url, 'PATCH', '/me', {
      token: account.access,
      json: { email: `${account.username}@new.example.com`, current_password: PASSWORD },
    });
    expect([changed.status, changed.body.email]).toEqual([200, `${account.username}@new.example.com`]);
    expect((await signIn(url, app, `${account.username}@new.example.com`, PASSWORD)).status).toBe(200);
  });

  it('refuses an empty change and unknown fields', async () => {
    const account = await newAccount();
    const empty = await callApi(url, 'PATCH', '/me', { token: account.access, json: {} });
    expect([empty.status, empty.body.error_description]).toEqual([400, 'nothing to change: give full_name or email']);
    const roles = await callApi(url, 'PATCH', '/me', { token: account.access, json: { roles: ['admin'] } });
    expect([roles.status, String(roles.body.error_description)]).toEqual([400, expect.stringContaining('roles: not a known field')]);
    expect((await callApi(url, 'GET', '/me', { token: account.access })).body.roles).toEqual(['user']);
  });

  it('accepts only a user’s access token for this issuer (aud), from the verifier library', async () => {
    const account = await newAccount();
    expect((await callApi(url, 'GET', '/me')).headers.get('www-authenticate')).toBe('Bearer realm="token-issuer"');

    const forOrders = await signIn(url, ordersOnly, account.username, PASSWORD);
    const wrongAudience = await callApi(url, 'GET', '/me', { token: String(forOrders.body.access_token) });
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.headers.get('www-authenticate')).toContain('error="invalid_token"');

    expect((await callApi(url, 'GET', '/me', { token: account.refresh })).status).toBe(401);
    expect((await callApi(url, 'GET', '/me', { token: 'not.a.token' })).status).toBe(401);
    // A client's own token is no user's: it lacks what the account API needs.
    const machine = await clientToken(url, worker);
    expect((await callApi(url, 'GET', '/me', { token: String(machine.body.access_token) })).status).toBe(403);
  });
});

describe('POST /me/password', () => {
  it('needs the current password and a new one the policy accepts', async () => {
    const account = await newAccount();
    const wrong = await callApi(url, 'POST', '/me/password', {
      token: account.access,
      json: { current_password: 'wrong password here', new_password: 'a brand new passphrase' },
    });
    expect([wrong.status, wrong.body.error]).toEqual([403, 'incorrect_password']);
    const weak = await callApi(url, 'POST', '/me/password', {
      token: account.access,
      json: { current_password: PASSWORD, new_password: 'short' },
    });
    expect([weak.status, weak.body.error]).toEqual([400, 'invalid_password']);
    const missing = await callApi(url, 'POST', '/me/password', { token: account.access, json: { current_password: PASSWORD } });
    expect([missing.status, String(missing.body.error_description)]).toEqual([400, expect.stringContaining('new_password:')]);
    expect((await signIn(url, app, account.username, PASSWORD)).status).toBe(200);
  });

  it('ends every other session at once and keeps the caller’s own', async () => {
    const account = await newAccount();
    const laptop = await signIn(url, app, account.username, PASSWORD);
    const newPassword = 'another long passphrase 42';
    const changed = await callApi(url, 'POST', '/me/password', {
      token: account.access,
      json: { current_password: PASSWORD, new_password: newPassword },
    });
    expect(changed.status).toBe(200);

    // The other session: its access token is revoked, its refresh token dead.
    expect((await callApi(url, 'GET', '/me', { token: String(laptop.body.access_token) })).status).toBe(401);
    expect((await refresh(url, app, String(laptop.body.refresh_token))).status).toBe(400);
    // The caller's session goes on.
    expect((await callApi(url, 'GET', '/me', { token: account.access })).status).toBe(200);
    expect((await refresh(url, app, account.refresh)).status).toBe(200);

    expect((await signIn(url, app, account.username, PASSWORD)).status).toBe(400);
    expect((await signIn(url, app, account.username, newPassword)).status).toBe(200);
  });
});

describe('password reset by email', () => {
  const forgot = (email: string) => callApi(url, 'POST', '/password/forgot', { json: { email } });
  const reset = (token: string, newPassword: string) =>
    callApi(url, 'POST', '/password/reset', { json: { token, new_password: newPassword } });
  const tokenIn = (text: string) => {
    const link = new RegExp(`${RESET_PAGE}#token=([A-Za-z0-9_-]+)`).exec(text);
    expect(link, text).not.toBeNull();
    return link![1]!;
  };

  it('mails a single-use link; using it sets the password and ends every session', async () => {
    const account = await newAccount();
    const mail = inbox.waitFor(account.email);
    const answer = await forgot(account.email.toUpperCase());
    expect(answer.status).toBe(202);
    const received = await mail;
    expect(received.from).toBe('accounts@example.com');
    expect(received.subject).toBe('Reset your password');
    const token = tokenIn(received.text);

    const weak = await reset(token, 'short');
    expect([weak.status, weak.body.error]).toEqual([400, 'invalid_password']);
    const newPassword = 'my recovered passphrase';
    expect((await reset(token, newPassword)).status).toBe(204);

    expect((await callApi(url, 'GET', '/me', { token: account.access })).status).toBe(401);
    expect((await refresh(url, app, account.refresh)).status).toBe(400);
    expect((await signIn(url, app, account.username, PASSWORD)).status).toBe(400);
    expect((await signIn(url, app, account.username, newPassword)).status).toBe(200);

    const again = await reset(token, 'yet another passphrase');
    expect([again.status, again.body.error]).toEqual([400, 'invalid_reset_token']);
    expect((await reset('made-up-token', 'yet another passphrase')).status).toBe(400);
  });

  it('answers an unknown address exactly like a known one, and mails nothing', async () => {
    const account = await newAccount();
    const unknown = await forgot('nobody-at-all@example.com');
    const mail = inbox.waitFor(account.email);
    const known = await forgot(account.email);
    expect([unknown.status, unknown.body]).toEqual([known.status, known.body]);
    await mail;
    expect(inbox.messages.some((message) => message.to.includes('nobody-at-all@example.com'))).toBe(false);
  });

  it('works for an account throttled by failed sign-ins', async () => {
    const account = await newAccount();
    for (let attempt = 0; attempt < 5; attempt++) await signIn(url, app, account.username, 'wrong password, surely');
    const throttled = await signIn(url, app, account.username, PASSWORD);
    expect(throttled.status).toBe(429);

    const mail = inbox.waitFor(account.email);
    await forgot(account.email);
    const newPassword = 'unlocked by a reset link';
    expect((await reset(tokenIn((await mail).text), newPassword)).status).toBe(204);
    expect((await signIn(url, app, account.username, newPassword)).status).toBe(200);
  });

  it('refuses malformed requests with the field named', async () => {
    const badEmail = await forgot('not-an-email');
    expect([badEmail.status, String(badEmail.body.error_description)]).toEqual([400, expect.stringContaining('email:')]);
    const extra = await callApi(url, 'POST', '/password/reset', { json: { token: 'x', new_password: PASSWORD, user: 'admin' } });
    expect([extra.status, extra.body.error_description]).toEqual([400, 'user: not a known field']);
  });
});

describe('SIGNUP_ENABLED=false', () => {
  it('answers 403 signup_disabled and creates nothing', async () => {
    const closed = await createInProcessApp({ env: { SIGNUP_ENABLED: 'false' } });
    try {
      const body = JSON.stringify({ username: 'walt', email: 'walt@example.com', password: PASSWORD });
      const refused = await closed.app.request('/signup', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: string }).error).toBe('signup_disabled');
      const count = await closed.database.db.execute<{ count: number }>('select count(*)::int as count from users');
      expect(JSON.stringify(count)).toContain('"count":0');
    } finally {
      await closed.close();
    }
  });
});
