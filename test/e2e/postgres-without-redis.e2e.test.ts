import { describe, expect, it } from 'vitest';
import { runCli, startServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { adminDatabaseUrl, createTestDatabase } from '../support/test-database.js';

describe.runIf(adminDatabaseUrl)('PostgreSQL without Redis', () => {
  it('carries a revocation made by the CLI to a running server through the database', async () => {
    const database = await createTestDatabase({ redis: false });
    const password = 'pete has a long passphrase';
    try {
      const web = await seedClient(database.env, [
        '--name',
        'web',
        '--grants',
        'password,refresh_token',
        '--scopes',
        'openid',
        '--audiences',
        'http://issuer.test',
      ]);
      await seedUser(database.env, ['--username', 'pete', '--email', 'pete@example.com'], password);
      const server = await startServer(database.env);
      try {
        const response = await fetch(`${server.url}/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'password', username: 'pete', password, scope: 'openid', ...web }),
        });
        const { access_token: accessToken } = (await response.json()) as { access_token: string };
        const userinfo = () => fetch(`${server.url}/userinfo`, { headers: { Authorization: `Bearer ${accessToken}` } });
        expect((await userinfo()).status).toBe(200);
        // The user stays active; only the denylist, read from PostgreSQL, can refuse the token now.
        const changed = await runCli(['users', 'set-password', 'pete', '--password-stdin'], database.env, `${password}\n`);
        expect(changed.code, changed.stderr).toBe(0);
        await expect.poll(async () => (await userinfo()).status, { timeout: 10_000 }).toBe(401);
      } finally {
        await server.stop();
      }
    } finally {
      await database.drop();
    }
  });
});
