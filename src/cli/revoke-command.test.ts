import { describe, expect, it } from 'vitest';
import { runCli } from './run.js';

const io = { readStdin: async () => '', warn: () => {} };
/** A usage mistake never opens the database. */
const noDatabase = () => Promise.reject(new Error('a usage error opened the database'));

describe('the incident commands refuse a malformed request before touching anything', () => {
  it.each([
    [['revoke'], 'revoke takes exactly one of --all, --user USERNAME and --client CLIENT_ID'],
    [['revoke', '--all', '--client', 'billing'], 'revoke takes exactly one of'],
    [['revoke', '--user', 'kim', '--before', 'yesterday'], '--before is now or an ISO 8601 date-time'],
    [['revoke', '--all', '--everything'], "Unknown option '--everything'"],
    [['keys', 'revoke'], 'keys revoke takes one KID'],
    [['keys', 'revoke', 'a', 'b'], 'keys revoke takes one KID'],
    [['clients', 'rotate-secret'], 'clients rotate-secret takes one CLIENT_ID'],
    [['clients', 'rotate-secret', 'x', '--revoke'], "Unknown option '--revoke'"],
  ])('%j: exit 2 with the problem and the usage', async (argv, message) => {
    const outcome = await runCli(argv, io, noDatabase);
    expect(outcome.exitCode).toBe(2);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toContain(message);
    // The usage of the command that was mistaken, and of no other.
    expect(outcome.stderr).toContain(`usage:\ntoken-issuer ${argv[0]} `);
    expect(outcome.stderr).not.toContain('token-issuer migrate');
  });
});

describe('keys revoke', () => {
  it('takes a key id that begins with a dash as the key id, not as an option', async () => {
    let opened = false;
    const outcome = await runCli(['keys', 'revoke', '-K3fXq9'], io, async () => {
      opened = true;
      throw new Error('no such key here');
    });
    // It got as far as the database with that id: no usage error.
    expect([opened, outcome.exitCode, outcome.stderr]).toEqual([true, 1, 'token-issuer: no such key here\n']);
  });
});
