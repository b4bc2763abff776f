import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuditEvents } from '../../src/audit/audit-store.js';
import { runCli, ServerHarness } from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

let database: TestDatabase;
let harness: ServerHarness;
/** The command beside a running server, as the README has it (embedded: carried out by the server). */
beforeAll(async () => {
  database = await createTestDatabase();
  harness = await ServerHarness.start(database.env);
});
afterAll(async () => {
  await harness?.stop();
  await database?.drop();
});

const cli = (args: string[]) => harness.cli(args);

describe('token-issuer clients', () => {
  it('creates a client, shows its secret once, lists it without any secret, and deletes it', async () => {
    const created = await cli([
      'clients',
      'create',
      '--name',
      'billing',
      '--grants',
      'client_credentials',
      '--scopes',
      'invoices:read, invoices:write invoices:read',
      '--audiences',
      'https://a.internal,https://b.internal',
    ]);
    expect(created.code, created.stderr).toBe(0);
    // Where it wrote, in one line, and no log line (audit events among them) unless --verbose.
    expect(created.stderr).toMatch(
      /^token-issuer: (PostgreSQL at [^,]+, database \w+|the embedded database in \S+ \(the running server\))\n$/,
    );
    const client = JSON.parse(created.stdout) as Record<string, unknown>;
    expect(client).toEqual({
      client_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), // 256 bits
      name: 'billing',
      public: false,
      grant_types: ['client_credentials'],
      scopes: ['invoices:read', 'invoices:write'],
      audiences: ['https://a.internal', 'https://b.internal'],
      redirect_uris: [],
      post_logout_redirect_uris: [],
      first_party: false,
      pkce_required: true,
      require_mfa: false,
      single_factor_password_grant: false,
      impersonation: false,
      id_token_signed_response_alg: null,
      auth_methods: ['client_secret'],
      secrets: [{ created_at: expect.any(String), expires_at: null }],
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });

    const listed = await cli(['clients', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(client.client_secret as string);
    // Neither a secret nor its hash (both 43 base64url characters), only how many there are and their ages.
    expect(listed.stdout).not.toMatch(/"client_secret"\s*:|secret_hash|[A-Za-z0-9_-]{43}/i);
    const { client_secret: _, ...publicView } = client;
    expect(JSON.parse(listed.stdout)).toContainEqual(publicView);

    const deleted = await cli(['clients', 'delete', client.client_id as string]);
    expect([deleted.code, JSON.parse(deleted.stdout)]).toEqual([0, { deleted: client.client_id }]);
    expect(JSON.parse((await cli(['clients', 'list'])).stdout)).not.toContainEqual(publicView);
  });

  it('answers a usage mistake with exit 2, the problem and the usage (the rest: test/cli-commands.test.ts)', async () => {
    const result = await cli(['frobnicate']);
    expect([result.code, result.stdout]).toEqual([2, '']);
    expect(result.stderr).toContain('unknown command: frobnicate');
    expect(result.stderr).toContain('usage:');
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

describe('token-issuer users', () => {
  const password = 'a passphrase long enough';

  it('creates a user from a password on stdin, lists it without the hash, disables and enables it', async () => {
    const created = await harness.cli(
      [
        'users',
        'create',
        '--username',
        'Nora',
        '--email',
        'Nora@Example.com',
        '--full-name',
        'Nora Lee',
        '--roles',
        'admin,user',
        '--password-stdin',
      ],
      `${password}\n`,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      username: 'Nora',
      email: 'nora@example.com',
      full_name: 'Nora Lee',
      roles: ['admin', 'user'],
      is_active: true,
      created_at: expect.any(String),
      updated_at: expect.any(String),
      password_changed_at: expect.any(String),
    });
    const listed = await cli(['users', 'list']);
    expect(listed.stdout).not.toMatch(/argon2|hash|passphrase/i);
    expect((JSON.parse(listed.stdout) as { username: string }[]).map((user) => user.username)).toContain('Nora');

    expect(JSON.parse((await cli(['users', 'disable', 'nora'])).stdout).is_active).toBe(false);
    expect(JSON.parse((await cli(['users', 'enable', 'NORA'])).stdout).is_active).toBe(true);
  });

  it('sets a new password from stdin and moves password_changed_at', async () => {
    await harness.cli(['users', 'create', '--username', 'otto', '--email', 'otto@example.com', '--password-stdin'], password);
    const before = JSON.parse((await cli(['users', 'list'])).stdout).find((user: { username: string }) => user.username === 'otto');
    const changed = await harness.cli(['users', 'set-password', 'otto', '--password-stdin'], 'a brand new long passphrase\n');
    expect(changed.code, changed.stderr).toBe(0);
    expect(JSON.parse(changed.stdout).password_changed_at > before.password_changed_at).toBe(true);
  });
});

describe('what the CLI changes', () => {
  it('is audited like a change through the admin API, naming cli:<the OS user>', async () => {
    const actor = `cli:${userInfo().username}`;
    const created = await cli([
      'clients',
      'create',
      '--name',
      'audited',
      '--grants',
      'client_credentials',
      '--audiences',
      'https://a.internal',
    ]);
    const clientId = (JSON.parse(created.stdout) as { client_id: string }).client_id;
    const user = await harness.cli(
      ['users', 'create', '--username', 'audra', '--email', 'audra@example.com', '--password-stdin'],
      'a passphrase long enough\n',
    );
    const userId = (JSON.parse(user.stdout) as { id: string }).id;
    const quiet = await cli(['users', 'disable', 'audra']);
    expect(quiet.stderr).not.toContain('user_updated');
    // With --verbose the audit events are logged by the process that made the change: the CLI, or the
    // embedded server it handed the command to.
    const verbose = await cli(['users', 'enable', 'audra', '--verbose']);
    const changer = harness.embedded ? harness.server.output() : verbose.stderr;
    expect(changer).toContain('"user_updated"');
    await harness.cli(['users', 'set-password', 'audra', '--password-stdin'], 'another passphrase long enough\n');
    const rotated = await cli(['keys', 'rotate']);
    const kid = (JSON.parse(rotated.stdout) as { kid: string }).kid;

    const events = await harness.withData(async ({ db }) => (await listAuditEvents(db, { actor }, { limit: 50 })).items);
    const seen = events.map(({ type, clientId: client, userId: subject, details }) => ({ type, client, subject, details }));
    expect(seen).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'client_created', client: clientId, details: { name: 'audited' } }),
        expect.objectContaining({ type: 'user_created', subject: userId, details: { roles: ['user'] } }),
        expect.objectContaining({ type: 'user_updated', subject: userId }),
        expect.objectContaining({ type: 'password_changed', subject: userId }),
        expect.objectContaining({ type: 'signing_key_rotated', details: expect.objectContaining({ kid }) }),
      ]),
    );
  });
});
