import { describe, expect, it } from 'vitest';
import { runCli } from './run.js';

const io = { readStdin: async () => '', warn: () => {} };
/** A usage mistake never opens the database. */
const noDatabase = () => Promise.reject(new Error('a usage error opened the database'));
const ISSUER = 'https://kubernetes.example.com';

/** Mistakes caught before anything is stored or fetched: exit code 2 and one line naming the option. */
describe('federation command usage', () => {
  it.each([
    [['add', '--issuer', ISSUER, '--audience', 'a'], "--jwks-file: the issuer's keys: exactly one of jwks, jwks_uri and discover"],
    [
      ['add', '--issuer', ISSUER, '--audience', 'a', '--discover', '--jwks-uri', `${ISSUER}/jwks`],
      'exactly one of jwks, jwks_uri and discover',
    ],
    [['add', '--issuer', 'http://cluster.example.com', '--audience', 'a', '--discover'], '--issuer: the issuer is an https URL'],
    [['add', '--issuer', ISSUER, '--jwks-uri', `${ISSUER}/jwks`], '--audience: an audience is required'],
    [['add', '--issuer', ISSUER, '--jwks-uri', `${ISSUER}/jwks`, '--audience', 'a', '--max-token-age', '1h'], '--max-token-age'],
    [['add', '--issuer', ISSUER, '--jwks-uri', `${ISSUER}/jwks`, '--audience', 'a', '--max-token-age', '5'], '--max-token-age'],
    [['add', '--issuer', ISSUER, '--jwks', '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}', '--audience', 'a'], '--jwks-file: kty must be'],
    [['bind', 'client-1', '--issuer', ISSUER], '--subject: a binding needs a subject or at least one claim rule'],
    [['bind', 'client-1', '--issuer', ISSUER, '--claim', 'repository'], '--claim: NAME=VALUE'],
    [['bind', 'client-1', '--issuer', ISSUER, '--claim', 'aud=x'], 'names no registered claim'],
    [['bind', '--issuer', ISSUER, '--subject', 's'], 'federation bind takes one CLIENT_ID'],
    [['forget'], 'unknown federation action: forget'],
  ])('federation %j is refused', async (argv, message) => {
    const outcome = await runCli(['federation', ...argv], io, noDatabase);
    expect(outcome.exitCode).toBe(2);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toContain(message);
  });
});
