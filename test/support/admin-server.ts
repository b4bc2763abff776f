import { afterAll, beforeAll, expect } from 'vitest';
import { callApi, signIn } from './api-client.js';
import { startServer, type ClientCredentials, type RunningServer } from './processes.js';
import { seedClient, seedUser } from './seed.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

/**
 * One issuer process for an admin API test file, with the clients and users those tests share: a
 * console app (a user's admin token), an automation client (a client's own admin token), a worker
 * without the admin scope, the admin `root` and five users. `useAdminServer()` starts it before the
 * file's tests and stops it after; the bindings below are set by then (ES modules keep them live).
 */
export const ISSUER = 'http://issuer.test';
export const API = 'https://orders.internal';
export const PASSWORD = 'correct horse battery staple';

export let database: TestDatabase;
export let server: RunningServer;
export let url: string;
export let app: ClientCredentials;
export let automation: ClientCredentials;
export let worker: ClientCredentials;
export let adminId: string;
export let adminToken: string;

export function useAdminServer(): void {
  beforeAll(async () => {
    database = await createTestDatabase();
    const env = database.env;
    app = await seedClient(env, [
      '--name',
      'console',
      '--grants',
      'password,refresh_token',
      '--scopes',
      'openid account admin orders:read',
      '--audiences',
      `${ISSUER},${API}`,
    ]);
    automation = await seedClient(env, [
      '--name',
      'automation',
      '--grants',
      'client_credentials',
      '--scopes',
      'admin',
      '--audiences',
      ISSUER,
    ]);
    worker = await seedClient(env, [
      '--name',
      'worker',
      '--grants',
      'client_credentials',
      '--scopes',
      'orders:read',
      '--audiences',
      ISSUER,
    ]);
    adminId = (await seedUser(env, ['--username', 'root', '--email', 'root@example.com', '--roles', 'admin,user'], PASSWORD)).id;
    for (const name of ['ann', 'ben', 'cat', 'dan', 'eve']) {
      await seedUser(env, ['--username', name, '--email', `${name}@example.com`], PASSWORD);
    }
    server = await startServer({ ...env, ISSUER, KEY_ACTIVATION_DELAY: '60' });
    url = server.url;
    adminToken = String((await signIn(url, app, 'root', PASSWORD, 'admin')).body.access_token);
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });
}

export const asAdmin = (method: string, path: string, json?: unknown) => callApi(url, method, path, { token: adminToken, json });

export async function newUser(username: string) {
  const created = await asAdmin('POST', '/admin/users', { username, email: `${username}@example.com`, password: PASSWORD });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return String(created.body.id);
}
