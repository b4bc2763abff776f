import { describe, expect, it } from 'vitest';
import { runCli, runCommand, startServer } from '../support/processes.js';
import { seedClient } from '../support/seed.js';
import { createTestDatabase } from '../support/test-database.js';

describe('bootstrap admin', () => {
  it('is created at start on an empty user table, can sign in, and is not created twice', async () => {
    const database = await createTestDatabase();
    try {
      const client = await seedClient(database.env, ['--name', 'console', '--grants', 'password', '--audiences', 'https://api.internal']);
      const bootstrap = {
        BOOTSTRAP_ADMIN_USERNAME: 'root',
        BOOTSTRAP_ADMIN_EMAIL: 'root@example.com',
        BOOTSTRAP_ADMIN_PASSWORD: 'the first admin passphrase',
      };
      let server = await startServer({ ...database.env, ...bootstrap });
      const response = await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'password', username: 'root', password: bootstrap.BOOTSTRAP_ADMIN_PASSWORD, ...client }),
      });
      expect(response.status).toBe(200);
      const claims = JSON.parse(
        Buffer.from(((await response.json()) as { access_token: string }).access_token.split('.')[1]!, 'base64url').toString(),
      );
      expect(claims.roles).toEqual(['admin', 'user']);
      expect(server.output()).not.toContain(bootstrap.BOOTSTRAP_ADMIN_PASSWORD);
      await server.stop();

      server = await startServer({
        ...database.env,
        ...bootstrap,
        BOOTSTRAP_ADMIN_USERNAME: 'root2',
        BOOTSTRAP_ADMIN_EMAIL: 'root2@example.com',
      });
      await server.stop();
      const users = JSON.parse((await runCli(['users', 'list'], database.env)).stdout) as { username: string }[];
      expect(users.map((user) => user.username)).toEqual(['root']);
    } finally {
      await database.drop();
    }
  });

  it('refuses to start when the bootstrap password breaks the policy', async () => {
    const database = await createTestDatabase();
    try {
      const result = await runCommand(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
        ...database.env,
        PORT: '0',
        BOOTSTRAP_ADMIN_USERNAME: 'root',
        BOOTSTRAP_ADMIN_EMAIL: 'root@example.com',
        BOOTSTRAP_ADMIN_PASSWORD: 'short',
      });
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe('token-issuer: the password must be at least 15 characters long (rule: min_length)');
    } finally {
      await database.drop();
    }
  });
});

describe('start-up configuration', () => {
  const start = (env: Record<string, string>) =>
    runCommand(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], env);

  it('stops with one clear line per bad variable and no stack trace', async () => {
    const result = await start({ PORT: 'eighty', ACCESS_TOKEN_TTL: '-5', LOG_LEVEL: 'chatty' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'token-issuer: invalid configuration',
      '  PORT must be a port number',
      '  ACCESS_TOKEN_TTL must be at least 1 second',
      '  LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('refuses to start in production without ISSUER, KEY_ENCRYPTION_KEY and DATABASE_URL', async () => {
    const result = await start({ NODE_ENV: 'production' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ISSUER is required when NODE_ENV=production');
    expect(result.stderr).toContain('KEY_ENCRYPTION_KEY is required when NODE_ENV=production');
    expect(result.stderr).toContain('DATABASE_URL is required when NODE_ENV=production');
    expect(result.stdout).not.toContain('listening');
  });
});
