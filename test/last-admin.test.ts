import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { registerUser, setUserEnabled } from '../src/users/accounts.js';
import { findUserById, listUsers, type User } from '../src/users/user-store.js';
import { createInProcessAppOn, passwordSignIn, type InProcessApp } from './support/in-process-app.js';

const ISSUER = 'http://issuer.test';
const PASSWORD = 'a long and proper passphrase';

describe.each([
  ['PGlite', false],
  ['PostgreSQL', true],
])('the last active admin, on %s', (_name, onPostgres) => {
  let harness: InProcessApp | undefined;
  let web: CreatedClient;
  let root: User;

  beforeAll(async () => {
    harness = await createInProcessAppOn(onPostgres, { issuer: ISSUER });
    if (!harness) return;
    web = await createClient(harness.database.db, { name: 'console', grantTypes: ['password'], scopes: ['admin'], audiences: [ISSUER] });
    root = await registerUser(harness.accounts, { username: 'root', email: 'root@example.com', roles: ['admin', 'user'] }, PASSWORD);
  });

  afterAll(() => harness?.close());

  async function adminToken(username: string): Promise<string> {
    const response = await passwordSignIn(harness!, web, { username, password: PASSWORD, scope: 'admin' });
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  const call = async (token: string, method: string, path: string, json?: unknown) => {
    const response = await harness!.app.request(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    return { status: response.status, body: response.status === 204 ? {} : ((await response.json()) as Record<string, unknown>) };
  };

  it('cannot be deleted, disabled or demoted through the API, and nothing changes', async () => {
    if (!harness) return expect(onPostgres).toBe(true); // PostgreSQL not configured here; CI always has it
    const token = await adminToken('root');
    for (const [method, json] of [
      ['DELETE', undefined],
      ['PATCH', { active: false }],
      ['PATCH', { roles: ['user'] }],
      ['PATCH', { roles: ['moderator'], full_name: 'Root' }],
    ] as const) {
      const refused = await call(token, method, `/admin/users/${root.id}`, json);
      expect([refused.status, refused.body.error]).toEqual([409, 'last_admin']);
      expect(refused.body.error_description).toMatch(/last active admin; make another user an admin first/);
    }
    expect(await findUserById(harness.database.db, root.id)).toMatchObject({ isActive: true, roles: ['admin', 'user'], fullName: null });
    // The refused changes ended no session: the token still works.
    expect((await call(token, 'GET', '/admin/users')).status).toBe(200);
  });

  it('lets an admin go while another stays, and only one of two admins demoting each other at once wins', async () => {
    if (!harness) return expect(onPostgres).toBe(true);
    const second = await registerUser(
      harness.accounts,
      { username: 'second', email: 'second@example.com', roles: ['admin', 'user'] },
      PASSWORD,
    );
    const [rootToken, secondToken] = [await adminToken('root'), await adminToken('second')];
    const outcomes = await Promise.all([
      call(rootToken, 'PATCH', `/admin/users/${second.id}`, { roles: ['user'] }),
      call(secondToken, 'PATCH', `/admin/users/${root.id}`, { roles: ['user'] }),
    ]);
    expect(outcomes.filter((outcome) => outcome.status === 200)).toHaveLength(1);
    const admins = [await findUserById(harness.database.db, root.id), await findUserById(harness.database.db, second.id)].filter((user) =>
      user?.roles.includes('admin'),
    );
    expect(admins).toHaveLength(1);
  });

  it('may be disabled from the CLI, which is told that no admin is left', async () => {
    if (!harness) return expect(onPostgres).toBe(true);
    const admins = (await listUsers(harness.database.db)).filter((user) => user.isActive && user.roles.includes('admin'));
    expect(admins).toHaveLength(1);
    const result = await setUserEnabled(harness.revocation, admins[0]!.username, false);
    expect([result.leftNoAdmin, result.user.isActive]).toEqual([true, false]);
    const again = await setUserEnabled(harness.revocation, admins[0]!.username, true);
    expect(again.leftNoAdmin).toBe(false);
  });
});
