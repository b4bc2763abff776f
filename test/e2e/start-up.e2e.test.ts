import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, runCli, runCommand, startServer } from '../support/processes.js';
import { seedClient } from '../support/seed.js';
import { adminDatabaseUrl, createTestDatabase } from '../support/test-database.js';

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

  it('says in one line, without a stack, what keeps it from starting: a database, Redis, a port, the issuer', async () => {
    const keyed = { KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'), HOST: '127.0.0.1' };
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyPort = (busy.address() as { port: number }).port;
    const closedPort = await freePort();
    const scratch = await mkdtemp(join(tmpdir(), 'token-issuer-start-'));
    const cases: [string, Record<string, string>, RegExp][] = [
      [
        'a database host that does not resolve (the README once showed one)',
        { ...keyed, DATABASE_URL: 'postgres://user:secret-pw@db.invalid:5432/tokens' },
        /^token-issuer: cannot reach PostgreSQL at db\.invalid:5432 \(getaddrinfo (ENOTFOUND|EAI_AGAIN) db\.invalid\); check DATABASE_URL/,
      ],
      [
        'a database port nothing listens on',
        { ...keyed, DATABASE_URL: `postgres://user@127.0.0.1:${closedPort}/tokens` },
        new RegExp(`^token-issuer: cannot reach PostgreSQL at 127\\.0\\.0\\.1:${closedPort} \\(.*ECONNREFUSED`),
      ],
      [
        'Redis that does not answer',
        { ...keyed, DATA_DIR: join(scratch, 'redis'), REDIS_URL: `redis://:secret-pw@127.0.0.1:${closedPort}` },
        new RegExp(`^token-issuer: cannot reach Redis at 127\\.0\\.0\\.1:${closedPort} \\(.*ECONNREFUSED.*\\); check REDIS_URL`),
      ],
      [
        'a port in use',
        { DATA_DIR: join(scratch, 'port'), HOST: '127.0.0.1', PORT: String(busyPort) },
        new RegExp(`^token-issuer: port ${busyPort} on 127\\.0\\.0\\.1 is in use`),
      ],
      ['an issuer with a trailing slash', { ISSUER: 'http://localhost:3300/' }, /ISSUER must not end with a slash/],
      ...(adminDatabaseUrl
        ? ([
            [
              'a database that does not exist',
              { ...keyed, DATABASE_URL: withPath(adminDatabaseUrl, '/no_such_database_here') },
              /^token-issuer: PostgreSQL at .* has no database "no_such_database_here"; create it, or fix DATABASE_URL/,
            ],
            [
              'a role that does not exist',
              { ...keyed, DATABASE_URL: withUser(adminDatabaseUrl, 'no_such_role_here') },
              /^token-issuer: PostgreSQL at .* refused no_such_role_here \(.*no_such_role_here.*\)/,
            ],
          ] as [string, Record<string, string>, RegExp][])
        : []),
    ];
    try {
      const results = await Promise.all(cases.map(([, env]) => start(env)));
      results.forEach((result, index) => {
        const [name, , line] = cases[index]!;
        expect([name, result.code], result.stderr).toEqual([name, 1]);
        expect(result.stderr, name).toMatch(line);
        expect(result.stderr, name).not.toMatch(/\n\s+at |"level"|secret-pw/);
      });
    } finally {
      busy.close();
      await rm(scratch, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses to start in production without ISSUER, KEY_ENCRYPTION_KEY and DATABASE_URL', async () => {
    const result = await start({ NODE_ENV: 'production' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ISSUER is required when NODE_ENV=production');
    expect(result.stderr).toContain('KEY_ENCRYPTION_KEY is required when NODE_ENV=production');
    expect(result.stderr).toContain('DATABASE_URL is required when NODE_ENV=production');
    expect(result.stdout).not.toContain('listening');
  });
});

function withPath(databaseUrl: string, path: string): string {
  const url = new URL(databaseUrl);
  url.pathname = path;
  return url.href;
}

function withUser(databaseUrl: string, user: string): string {
  const url = new URL(databaseUrl);
  url.username = user;
  url.password = '';
  return url.href;
}
