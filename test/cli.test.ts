import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/processes.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const cli = (args: string[]) => runCli(args, database.env);

describe('token-issuer clients', () => {
  it('creates a client, shows its secret once, lists it without any secret, and deletes it', async () => {
    const created = await cli([
      'clients', 'create', '--name', 'billing', '--grants', 'client_credentials',
      '--scopes', 'invoices:read, invoices:write invoices:read', '--audiences', 'https://a.internal,https://b.internal',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const client = JSON.parse(created.stdout) as Record<string, unknown>;
    expect(client).toEqual({
      client_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), // 256 bits
      name: 'billing',
      public: false,
      grant_types: ['client_credentials'],
      scopes: ['invoices:read', 'invoices:write'],
      audiences: ['https://a.internal', 'https://b.internal'],
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });

    const listed = await cli(['clients', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(client.client_secret as string);
    expect(listed.stdout).not.toMatch(/secret/i);
    const { client_secret: _, ...publicView } = client;
    expect(JSON.parse(listed.stdout)).toContainEqual(publicView);

    const deleted = await cli(['clients', 'delete', client.client_id as string]);
    expect([deleted.code, JSON.parse(deleted.stdout)]).toEqual([0, { deleted: client.client_id }]);
    expect(JSON.parse((await cli(['clients', 'list'])).stdout)).not.toContainEqual(publicView);
  });

  it.each([
    [['clients', 'create', '--grants', 'client_credentials', '--audiences', 'https://a'], '--name: a name is required'],
    [['clients', 'create', '--name', 'x', '--audiences', 'https://a'], '--grants: at least one grant type is required'],
    [['clients', 'create', '--name', 'x', '--grants', 'implicit', '--audiences', 'https://a'], '--grants: unsupported implicit'],
    [['clients', 'create', '--name', 'x', '--grants', 'client_credentials'], '--audiences: at least one audience is required'],
    [['clients', 'create', '--name', 'x', '--grants', 'client_credentials', '--audiences', 'a', '--scopes', 'bad"scope'], '--scopes:'],
    [['clients', 'create', '--name', 'x', '--colour', 'blue'], "Unknown option '--colour'"],
    [['clients', 'remove', 'x'], 'unknown clients action: remove'],
    [['frobnicate'], 'unknown command: frobnicate'],
  ])('%j is a usage error (exit 2) naming the problem', async (args, message) => {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('usage:');
    expect(result.stdout).toBe('');
  });

  it('says so when deleting a client that does not exist', async () => {
    const result = await cli(['clients', 'delete', 'no-such-client']);
    expect([result.code, result.stderr.trim()]).toEqual([1, 'token-issuer: no client with id no-such-client']);
  });

  it('reports bad configuration one line per problem, not a stack trace', async () => {
    const result = await runCli(['clients', 'list'], { ...database.env, ACCESS_TOKEN_TTL: 'soon' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'token-issuer: invalid configuration',
      '  ACCESS_TOKEN_TTL must be a whole number of seconds',
    ]);
  });
});
