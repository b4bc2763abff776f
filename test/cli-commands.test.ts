import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { adminContextOf, type AdminContext } from '../src/composition.js';
import { createLogger } from '../src/logger.js';
import { createInProcessApp, createInProcessAppOn, type InProcessApp } from './support/in-process-app.js';

/**
 * The CLI's answers to mistakes, in-process: the command's own code with a real database, without a
 * process per case (test/e2e/cli.e2e.test.ts runs the real command for its main paths).
 */
let harness: InProcessApp;
let context: AdminContext;
beforeAll(async () => {
  harness = (await createInProcessAppOn(true)) ?? (await createInProcessApp());
  context = adminContextOf({ config: harness.config, db: harness.database.db, logger: createLogger('silent'), denylist: harness.denylist });
});
afterAll(() => harness?.close());

const run = async (argv: string[], stdin = '') => {
  const outcome = await runCli(argv, { readStdin: async () => stdin, warn: () => {} }, (command) => command(context));
  return { code: outcome.exitCode, stdout: outcome.stdout, stderr: outcome.stderr };
};
const cli = (argv: string[]) => run(argv);
/** The line a failure ends with; the first says which database the command used. */
const lastLine = (stderr: string) => stderr.trim().split('\n').at(-1);
const password = 'a passphrase long enough';

describe('token-issuer clients', () => {
  it.each([
    [['clients', 'create', '--grants', 'client_credentials', '--audiences', 'https://a'], '--name: a name is required'],
    [['clients', 'create', '--name', 'x', '--audiences', 'https://a'], '--grants: at least one grant type is required'],
    [['clients', 'create', '--name', 'x', '--grants', 'implicit', '--audiences', 'https://a'], '--grants: unsupported implicit'],
    [['clients', 'create', '--name', 'x', '--grants', 'client_credentials'], '--audiences: at least one audience is required'],
    [
      ['clients', 'create', '--name', 'x', '--grants', 'client_credentials', '--audiences', 'https://a', '--scopes', 'bad"scope'],
      '--scopes:',
    ],
    [
      ['clients', 'create', '--name', 'x', '--grants', 'client_credentials', '--audiences', 'not-a-url'],
      '--audiences: an audience is an absolute URI',
    ],
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
    expect([result.code, lastLine(result.stderr)]).toEqual([1, 'token-issuer: no client with id no-such-client']);
  });
});

describe('token-issuer users', () => {
  it.each([
    [
      ['--username', 'pia', '--email', 'pia@example.com', '--password-stdin'],
      'short',
      'the password must be at least 15 characters long (rule: min_length)',
    ],
    [
      ['--username', 'pia', '--email', 'pia@example.com', '--password-stdin'],
      'PIA@example.com',
      'the password must not be the username or the email address (rule: not_username_or_email)',
    ],
    [
      ['--username', 'pia', '--email', 'pia@example.com', '--password-stdin'],
      'passwordpassword',
      'the password is too common; choose another (rule: not_common)',
    ],
    [
      ['--username', 'p', '--email', 'pia@example.com', '--password-stdin'],
      password,
      'username: a username is 3 to 64 of the characters A-Z a-z 0-9 _ . -',
    ],
  ])('refuses %j with stdin %j: %s', async (options, input, message) => {
    const result = await run(['users', 'create', ...options], `${input}\n`);
    expect([result.code, lastLine(result.stderr)]).toEqual([1, `token-issuer: ${message}`]);
    expect(JSON.parse((await cli(['users', 'list'])).stdout).map((user: { username: string }) => user.username)).not.toContain('pia');
  });

  it('insists on --password-stdin rather than a password argument', async () => {
    const result = await cli(['users', 'create', '--username', 'quin', '--email', 'quin@example.com']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('add --password-stdin');
  });

  it('says so for an unknown user', async () => {
    const result = await cli(['users', 'disable', 'nobody-here']);
    expect([result.code, lastLine(result.stderr)]).toEqual([1, 'token-issuer: no user nobody-here']);
  });
});

describe('token-issuer conventions', () => {
  it('prints one command’s usage for COMMAND --help, exit 0, without touching the data', async () => {
    for (const command of ['clients', 'users', 'keys', 'federation', 'revoke']) {
      const result = await runCli([command, 'create', '--help'], { readStdin: async () => '', warn: () => {} }, () => {
        throw new Error('help opened the database');
      });
      expect([result.exitCode, result.stderr]).toEqual([0, '']);
      expect(result.stdout).toContain(`token-issuer ${command}`);
      expect(
        result.stdout.split('\n').filter((line) => line.startsWith('token-issuer ') && !line.startsWith(`token-issuer ${command}`)),
      ).toEqual([]);
    }
  });

  it('answers a mistake with the one line and that command’s usage only', async () => {
    const result = await cli(['users', 'create', '--username', 'quin', '--colour', 'blue']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^token-issuer: Unknown option '--colour'/);
    expect(result.stderr).toContain('token-issuer users create');
    expect(result.stderr).not.toContain('token-issuer clients');
  });

  it('prints its version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect((await cli(['--version'])).stdout).toBe(`token-issuer ${version}\n`);
  });

  it('says first on stderr which database a command uses, and nothing else when it succeeds', async () => {
    const result = await cli(['clients', 'create', '--name', 'where', '--grants', 'client_credentials', '--audiences', 'https://a.test']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`token-issuer: ${context.store}\n`);
    expect(context.store).toMatch(/^(PostgreSQL at [^,]+, database \w+|the embedded database in .+)$/);
  });
});
