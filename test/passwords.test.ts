import { hash } from '@node-rs/argon2';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/clients/client-registry.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { users } from '../src/db/schema.js';
import { listAuditEvents } from '../src/audit/audit-store.js';
import { createLogger } from '../src/logger.js';
import { accountDependenciesFrom, bootstrapAdmin, registerUser } from '../src/users/accounts.js';
import { createInProcessApp, type InProcessApp } from './support/in-process-app.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

let database: TestDatabase;
let harness: InProcessApp;
let client: { id: string; secret: string };

beforeAll(async () => {
  database = await createTestDatabase();
  const handle = await openDatabase({ databaseUrl: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR ?? '' });
  harness = await createInProcessApp({ database: handle, env: database.env });
  const created = await createClient(handle.db, {
    name: 'app',
    isPublic: false,
    grantTypes: ['password'],
    scopes: ['openid'],
    audiences: ['https://api.internal'],
  });
  client = { id: created.id, secret: created.secret! };
});

afterAll(async () => {
  await harness?.close();
  await database?.drop();
});

/** The default settings: argon2id m=19456 t=2 p=1, passwords of 15 to 128 characters. */
const accounts = () => accountDependenciesFrom(loadConfig({}), harness.database.db);

async function storedHash(username: string): Promise<string> {
  const [row] = await harness.database.db.select({ hash: users.passwordHash }).from(users).where(eq(users.username, username));
  return row!.hash;
}

async function signIn(username: string, password: string): Promise<number> {
  const response = await harness.app.request('/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      username,
      password,
      client_id: client.id,
      client_secret: client.secret,
    }).toString(),
  });
  return response.status;
}

describe('password storage', () => {
  it('stores argon2id with the configured parameters, never the password', async () => {
    await registerUser(accounts(), { username: 'hana', email: 'hana@example.com' }, 'a sufficiently long passphrase');
    const stored = await storedHash('hana');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(stored).not.toContain('passphrase');
  });

  it('upgrades a hash weaker than configured at the next successful login', async () => {
    await registerUser(accounts(), { username: 'ivan', email: 'ivan@example.com' }, 'an old password of some length');
    const weak = await hash('an old password of some length', { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 });
    await harness.database.db.update(users).set({ passwordHash: weak }).where(eq(users.username, 'ivan'));

    expect(await signIn('ivan', 'wrong password of some length')).toBe(400);
    expect(await storedHash('ivan')).toBe(weak); // a failed login changes nothing
    expect(await signIn('ivan', 'an old password of some length')).toBe(200);
    expect(await storedHash('ivan')).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await signIn('ivan', 'an old password of some length')).toBe(200);
  });

  it('normalizes with NFKC: a password set in NFC signs in when typed in NFD', async () => {
    const nfc = 'crème brûlée à la française'.normalize('NFC');
    await registerUser(accounts(), { username: 'jules', email: 'jules@example.com' }, nfc);
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    expect(await signIn('jules', nfd)).toBe(200);
  });

  it('does not truncate: a long password differing only at its end is refused', async () => {
    const long = `${'x'.repeat(100)}-the-end-matters`;
    await registerUser(accounts(), { username: 'kira', email: 'kira@example.com' }, long);
    expect(await signIn('kira', `${'x'.repeat(100)}-the-end-matterz`)).toBe(400);
    expect(await signIn('kira', long)).toBe(200);
  });
});

describe('registration', () => {
  it.each([
    [{ username: 'ab', email: 'ab@example.com' }, 'a username is 3 to 64'],
    [{ username: 'has space', email: 'x@example.com' }, 'a username is 3 to 64'],
    [{ username: 'lena', email: 'not-an-email' }, 'the email address is not valid'],
    [{ username: 'lena', email: 'lena@example.com', roles: ['root'] }, 'roles are admin, moderator, user'],
  ])('refuses %o with a clear message and writes nothing', async (input, message) => {
    await expect(registerUser(accounts(), input, 'a sufficiently long passphrase')).rejects.toMatchObject({
      status: 400,
      description: expect.stringContaining(message),
    });
  });

  it('refuses a second account with the same username in another case, or the same email', async () => {
    await registerUser(accounts(), { username: 'Mona', email: 'mona@example.com' }, 'a sufficiently long passphrase');
    for (const duplicate of [
      { username: 'MONA', email: 'other@example.com' },
      { username: 'mona2', email: 'MONA@example.com' },
    ]) {
      await expect(registerUser(accounts(), duplicate, 'a sufficiently long passphrase')).rejects.toMatchObject({ status: 409 });
    }
  });

  it('creates the bootstrap admin only while no user exists', async () => {
    const fresh = await createTestDatabase();
    const handle = await openDatabase({ databaseUrl: fresh.env.DATABASE_URL, dataDir: fresh.env.DATA_DIR ?? '' });
    try {
      await handle.migrate();
      const deps = { ...accounts(), db: handle.db };
      const admin = { username: 'root', email: 'root@example.com', password: 'the bootstrap passphrase' };
      const sink = { logger: createLogger('silent') };
      const created = await bootstrapAdmin(deps, sink, admin);
      expect(created).toMatchObject({ username: 'root', roles: ['admin', 'user'], isActive: true });
      expect(await bootstrapAdmin(deps, sink, { ...admin, username: 'root2', email: 'root2@example.com' })).toBeUndefined();
      // Audited like any other account an operator creates.
      const [event] = await listAuditEvents(handle.db, { type: 'user_created' }, { limit: 10 }).then((page) => page.items);
      expect(event).toMatchObject({ userId: created!.id, actor: 'bootstrap', details: { roles: ['admin', 'user'] } });
    } finally {
      await handle.close();
      await fresh.drop();
    }
  });
});
