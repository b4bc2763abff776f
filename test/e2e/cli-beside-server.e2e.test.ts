import { existsSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { exportJWK, generateKeyPair } from 'jose';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlSocketPath } from '../../src/cli/control-channel.js';
import { runCli, runCommand, startServer, type RunningServer } from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const PASSWORD = 'a passphrase for the cli test';

/** The embedded server holds DATA_DIR; the CLI beside it hands its commands over the control socket. */
describe('the token-issuer command beside a running embedded server', () => {
  let database: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    database = await createTestDatabase({ embedded: true });
    server = await startServer(database.env);
  });

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('creates a client the server authenticates at once', async () => {
    const created = await runCli(
      ['clients', 'create', '--name', 'svc', '--grants', 'client_credentials', '--audiences', 'https://api.example.com'],
      database.env,
    );
    expect(created.code, created.stderr).toBe(0);
    const { client_id, client_secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ token_type: 'Bearer' });
  });

  it('reads a password from its standard input, and the server logs the command but not the password', async () => {
    const created = await runCli(
      ['users', 'create', '--username', 'ivy', '--email', 'ivy@example.com', '--password-stdin'],
      database.env,
      `${PASSWORD}\n`,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ username: 'ivy' });
    const listed = await runCli(['users', 'list'], database.env);
    expect((JSON.parse(listed.stdout) as { username: string }[]).map((user) => user.username)).toEqual(['ivy']);
    expect(server.output()).toContain('"command":"users create"');
    expect(server.output()).not.toContain(PASSWORD);
  });

  it('registers a private_key_jwt client and a trusted issuer from key files, which the command reads, not the server', async () => {
    const { publicKey } = await generateKeyPair('ES256');
    const file = join(database.env.DATA_DIR!, '..', `keys-${process.pid}.json`);
    await writeFile(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] }));
    try {
      const args = ['clients', 'create', '--name', 'keyed', '--grants', 'client_credentials', '--audiences', 'https://api.example.com'];
      const created = await runCli([...args, '--auth-methods', 'private_key_jwt', '--jwks-file', file], database.env);
      expect(created.code, created.stderr).toBe(0);
      const client = JSON.parse(created.stdout) as Record<string, unknown>;
      expect(client).toMatchObject({
        auth_methods: ['private_key_jwt'],
        secrets: [],
        jwks: { keys: [expect.objectContaining({ kid: 'k1' })] },
      });
      expect(client).not.toHaveProperty('client_secret');
      const missing = await runCli([...args, '--auth-methods', 'private_key_jwt', '--jwks-file', `${file}.missing`], database.env);
      expect([missing.code, missing.stderr]).toEqual([2, `token-issuer: --jwks-file: cannot read ${file}.missing (ENOENT)\n`]);
      // A cluster's service-account keys, from a file too; a client without federation cannot be bound to it.
      const cluster = 'https://kubernetes.example.com';
      const trusted = await runCli(
        ['federation', 'add', '--issuer', cluster, '--jwks-file', file, '--audience', 'token-issuer'],
        database.env,
      );
      expect(trusted.code, trusted.stderr).toBe(0);
      expect(JSON.parse(trusted.stdout)).toMatchObject({ issuer: cluster, jwks: { keys: [expect.objectContaining({ kid: 'k1' })] } });
      const bound = await runCli(['federation', 'bind', String(client.client_id), '--issuer', cluster, '--subject', 'x'], database.env);
      expect([bound.code, bound.stderr]).toEqual([1, expect.stringContaining('does not allow federation')]);
    } finally {
      await rm(file, { force: true });
    }
  });

  it('revokes a signing key: the running server stops publishing and signing with it at once', async () => {
    const kids = async () =>
      ((await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
    const [current] = await kids();
    const revoked = await runCli(['keys', 'revoke', current!], database.env);
    expect(revoked.code, revoked.stderr).toBe(0);
    const { replaced_by } = JSON.parse(revoked.stdout) as { replaced_by: string };
    expect(await kids()).toEqual([replaced_by]);
    const listed = JSON.parse((await runCli(['keys', 'list'], database.env)).stdout) as { kid: string; status: string }[];
    expect(listed).toContainEqual(expect.objectContaining({ kid: current, status: 'revoked' }));
    // A rotation is published at once too, not at the server's next key reload.
    const rotated = await runCli(['keys', 'rotate'], database.env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(await kids()).toContain((JSON.parse(rotated.stdout) as { kid: string }).kid);
  });

  it('answers failures as it does on its own: one line and exit 1, usage errors exit 2', async () => {
    expect(await runCli(['users', 'disable', 'nobody'], database.env)).toMatchObject({
      code: 1,
      stderr: `token-issuer: the embedded database in ${database.dataDir} (the running server)\ntoken-issuer: no user nobody\n`,
    });
    const unknown = await runCli(['frobnicate'], database.env);
    expect([unknown.code, unknown.stderr.split('\n')[0]]).toEqual([2, 'token-issuer: unknown command: frobnicate']);
  });

  it('listens on a socket only its user can open, and a second server is still refused', async () => {
    expect(statSync(controlSocketPath(database.dataDir!)).mode & 0o777).toBe(0o600);
    const second = await runCommand(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], {
      ...database.env,
      PORT: '0',
    });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`the data directory ${database.dataDir} is in use by another process (pid ${server.child.pid})`);
  });

  it('opens the database itself once the server is gone, even after a crash left the socket behind', async () => {
    await server.stop('SIGKILL');
    expect(existsSync(controlSocketPath(database.dataDir!))).toBe(true);
    const listed = await runCli(['clients', 'list'], database.env);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((client) => client.name)).toEqual(['svc', 'keyed']);

    server = await startServer(database.env);
    await server.stop();
    expect(existsSync(controlSocketPath(database.dataDir!))).toBe(false);
    expect(existsSync(join(database.dataDir!, 'token-issuer.pid'))).toBe(false);
  });
});
