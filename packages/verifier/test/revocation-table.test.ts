import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createVerifier,
  EXPIRY_GRACE_SECONDS,
  fromWire,
  RevocationTable,
  toWire,
  VerificationError,
  type Cutoff,
  type RevocationFacts,
} from '../src/index.js';

const T = 1_800_000_000;
const token = (overrides: Partial<RevocationFacts> = {}): RevocationFacts => ({
  jti: 'jti-1',
  iat: T,
  sub: 'user-1',
  client_id: 'app',
  sid: 'session-1',
  kid: 'key-1',
  ...overrides,
});
const cutoff = (kind: Cutoff['kind'], value: string, before = T): Cutoff => ({ kind, value, before, expiresAt: before + 900 });

describe('RevocationTable', () => {
  it.each([
    ['sub', 'user-1', 'revoked_subject'],
    ['client_id', 'app', 'revoked_client'],
    ['sid', 'session-1', 'revoked_session'],
    ['kid', 'key-1', 'revoked_key'],
    ['all', '*', 'revoked_all'],
  ] as const)('a %s cut-off refuses the tokens it covers with its own reason, and no other', (kind, value, reason) => {
    const table = new RevocationTable(() => T + 10);
    table.addAll([cutoff(kind, value)]);
    expect(table.refusal(token())).toBe(reason);
    expect(table.refusal(token({ sub: 'user-2', client_id: 'other', sid: 'session-2', kid: 'key-2' }))).toBe(
      kind === 'all' ? 'revoked_all' : undefined,
    );
  });

  it('is inclusive to the second: iat == before is refused, iat == before + 1 accepted', () => {
    const table = new RevocationTable(() => T + 10);
    table.addAll([cutoff('sub', 'user-1')]);
    expect(table.refusal(token({ iat: T - 1 }))).toBe('revoked_subject');
    expect(table.refusal(token({ iat: T }))).toBe('revoked_subject');
    expect(table.refusal(token({ iat: T + 1 }))).toBeUndefined();
  });

  it('keeps the latest cut-off of a subject, whichever order they arrive in', () => {
    const table = new RevocationTable(() => T + 10);
    table.addAll([cutoff('client_id', 'app', T + 5), cutoff('client_id', 'app', T)]);
    expect(table.refusal(token({ iat: T + 5 }))).toBe('revoked_client');
    expect(table.latestCutoff({ sub: 'user-1', client_id: 'app' })).toBe(T + 5);
    expect(table.size()).toBe(1);
  });

  it('says "revoked" for a token revoked by its jti', () => {
    const table = new RevocationTable(() => T + 10);
    table.addAll([{ jti: 'jti-1', expiresAt: T + 900 }]);
    expect(table.refusal(token())).toBe('revoked');
    expect(table.refusal(token({ jti: 'jti-2' }))).toBeUndefined();
  });

  it('forgets a cut-off only once every token it covers is past its exp and the clock tolerance', () => {
    const clock = { now: T };
    const table = new RevocationTable(() => clock.now);
    table.addAll([cutoff('sub', 'user-1'), { jti: 'jti-9', expiresAt: T + 900 }]);
    clock.now = T + 900 + EXPIRY_GRACE_SECONDS - 1;
    expect([table.refusal(token()), table.refusal(token({ jti: 'jti-9', sub: 'x' }))]).toEqual(['revoked_subject', 'revoked']);
    clock.now = T + 900 + EXPIRY_GRACE_SECONDS;
    expect([table.refusal(token()), table.size()]).toEqual([undefined, 0]);
  });

  it('crosses the wire as a jti pair, and reads back what it wrote', () => {
    const entry = cutoff('client_id', 'svc:billing', T);
    const wire = toWire(entry);
    expect(wire.jti).toBe(`:cutoff:client_id:${T}:svc:billing`);
    expect(fromWire(wire)).toEqual(entry);
    expect(fromWire({ jti: 'abc', expiresAt: T })).toEqual({ jti: 'abc', expiresAt: T });
    // The issuer's marks and anything malformed are no entry at all.
    for (const jti of [':complete', ':refilling:00ff', ':cutoff:user:1:x', ':cutoff:sub:soon:x', ':cutoff:sub:1:']) {
      expect(fromWire({ jti, expiresAt: T })).toBeUndefined();
    }
  });
});

describe('the verifier and cut-offs', () => {
  let key: { privateKey: CryptoKey; publicJwk: JWK };
  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    key = { privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256' } };
  });

  it('passes the kid of the header and the sid claim to the store, and refuses with the rule it names', async () => {
    const seen: RevocationFacts[] = [];
    const table = new RevocationTable();
    const verifier = createVerifier({
      issuer: 'https://issuer.test',
      audience: 'https://orders.test',
      jwks: { keys: [key.publicJwk] },
      revocations: {
        refusal: async (facts) => {
          seen.push(facts);
          return table.refusal(facts);
        },
      },
    });
    const iat = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({ client_id: 'app', sid: 'session-1' })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'key-1' })
      .setIssuer('https://issuer.test')
      .setAudience('https://orders.test')
      .setSubject('user-1')
      .setJti('jti-1')
      .setIssuedAt(iat)
      .setExpirationTime(iat + 600)
      .sign(key.privateKey);
    await expect(verifier.verify(jwt)).resolves.toMatchObject({ sub: 'user-1' });
    expect(seen[0]).toEqual({ jti: 'jti-1', iat, sub: 'user-1', client_id: 'app', sid: 'session-1', kid: 'key-1' });

    table.addAll([{ kind: 'kid', value: 'key-1', before: iat, expiresAt: iat + 900 }]);
    const refused = await verifier.verify(jwt).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(VerificationError);
    expect(refused).toMatchObject({ code: 'revoked', reason: 'revoked_key' });
  });
});
