import { createServer, type Server } from 'node:http';
import { createPublicKey } from 'node:crypto';
import { base64url, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, VerificationError, type Verifier } from '../src/index.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://orders.test';

interface CountingServer {
  url: string;
  hits: () => number;
  close: () => Promise<void>;
}

/** A loopback HTTP server answering every request with `body` (after `delayMs`), counting them. */
async function serve(body: () => unknown, delayMs = 0): Promise<CountingServer> {
  let hits = 0;
  const server: Server = createServer((_request, response) => {
    hits += 1;
    setTimeout(() => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body()));
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let keys: { privateKey: CryptoKey; publicJwk: JWK };
let attacker: { privateKey: CryptoKey; publicJwk: JWK };
let issuerJwks: CountingServer;
let attackerServer: CountingServer;
let verifier: Verifier;

const now = () => Math.floor(Date.now() / 1000);
const goodClaims = (): JWTPayload => ({
  iss: ISSUER,
  sub: 'user-1',
  aud: AUDIENCE,
  client_id: 'app',
  scope: 'orders:read',
  roles: ['user'],
  jti: 'jti-1',
  iat: now(),
  exp: now() + 600,
});

function sign(claims: JWTPayload, header: Record<string, unknown> = {}, key: CryptoKey = keys.privateKey) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: keys.publicJwk.kid, ...header }).sign(key);
}

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));

async function refusal(token: string): Promise<string> {
  try {
    await verifier.verify(token);
  } catch (error) {
    expect(error).toBeInstanceOf(VerificationError);
    return (error as VerificationError).code;
  }
  return 'accepted';
}

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  keys = { privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' } };
  const evil = await generateKeyPair('RS256', { extractable: true });
  attacker = { privateKey: evil.privateKey, publicJwk: { ...(await exportJWK(evil.publicKey)), kid: 'key-1' } };
  issuerJwks = await serve(() => ({ keys: [keys.publicJwk] }));
  attackerServer = await serve(() => ({ keys: [attacker.publicJwk] }));
  verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: issuerJwks.url });
});

afterAll(async () => {
  await verifier?.close();
  await issuerJwks?.close();
  await attackerServer?.close();
});

describe('the verifier', () => {
  it('accepts a genuine access token and returns the principal', async () => {
    expect(await verifier.verify(await sign(goodClaims()))).toEqual({
      sub: 'user-1',
      clientId: 'app',
      scope: ['orders:read'],
      roles: ['user'],
      actors: [],
      claims: expect.objectContaining({ iss: ISSUER, jti: 'jti-1' }),
    });
  });

  it('refuses options that would weaken it', () => {
    expect(() => createVerifier({ issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: ISSUER, audience: AUDIENCE, algorithms: ['none'] })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: ISSUER, audience: '' })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: ISSUER, audience: [] })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: ISSUER, audience: [AUDIENCE, ''] })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: 'not a url', audience: AUDIENCE })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: ISSUER, audience: AUDIENCE, clockTolerance: 3600 })).toThrow(TypeError);
  });
});

describe('attack battery: every one is invalid_token, nothing else is fetched', () => {
  const cases: [string, () => Promise<string>][] = [
    ...['none', 'None', 'NONE', 'nOnE'].map((alg): [string, () => Promise<string>] => [
      `alg ${alg}`,
      async () => `${encode({ alg, typ: 'at+jwt' })}.${encode(goodClaims())}.`,
    ]),
    [
      'HS256 signed with the RSA public key as the secret',
      async () => {
        const pem = createPublicKey({ key: keys.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
        return new SignJWT(goodClaims())
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'key-1' })
          .sign(new TextEncoder().encode(String(pem)));
      },
    ],
    ['a null signature', async () => `${(await sign(goodClaims())).split('.').slice(0, 2).join('.')}.`],
    ['a truncated signature', async () => (await sign(goodClaims())).slice(0, -10)],
    ['a signature from another key', async () => sign(goodClaims(), {}, attacker.privateKey)],
    ['a kid with a path', async () => sign(goodClaims(), { kid: '../../../etc/passwd' })],
    ['a kid with SQL', async () => sign(goodClaims(), { kid: "key-1' OR '1'='1" })],
    ['an embedded jwk', async () => sign(goodClaims(), { jwk: attacker.publicJwk }, attacker.privateKey)],
    ['a jku to the attacker', async () => sign(goodClaims(), { jku: attackerServer.url }, attacker.privateKey)],
    ['an x5u to the attacker', async () => sign(goodClaims(), { x5u: attackerServer.url }, attacker.privateKey)],
    [
      'an unknown crit',
      async () =>
        new SignJWT(goodClaims())
          .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'key-1', crit: ['urn:example:must'], 'urn:example:must': true })
          // The signer is told the extension is understood; the verifier is not.
          .sign(keys.privateKey, { crit: { 'urn:example:must': true } }),
    ],
    ['an expired token', async () => sign({ ...goodClaims(), exp: now() - 120, iat: now() - 1000 })],
    ['nbf in the future', async () => sign({ ...goodClaims(), nbf: now() + 600 })],
    ['iat in the future beyond the clock tolerance', async () => sign({ ...goodClaims(), iat: now() + 120 })],
    [
      'no exp',
      async () => {
        const claims = goodClaims();
        delete claims.exp;
        return sign(claims);
      },
    ],
    ['a wrong iss', async () => sign({ ...goodClaims(), iss: 'https://issuer.test/' })],
    ['a wrong aud', async () => sign({ ...goodClaims(), aud: 'https://billing.test' })],
    [
      'no aud',
      async () => {
        const claims = goodClaims();
        delete claims.aud;
        return sign(claims);
      },
    ],
    ['a refresh token', async () => sign({ ...goodClaims(), aud: ISSUER }, { typ: 'rt+jwt' })],
    ['a refresh token addressed to this audience', async () => sign(goodClaims(), { typ: 'rt+jwt' })],
    ['an id token', async () => sign({ ...goodClaims(), aud: 'app' }, { typ: 'JWT' })],
    ['a token without typ', async () => sign(goodClaims(), { typ: undefined })],
    ['a 1 MB token', async () => `${encode({ alg: 'RS256', typ: 'at+jwt' })}.${'A'.repeat(1024 * 1024)}.sig`],
    ['garbage', async () => 'not even close'],
  ];

  it.each(cases)('%s', async (_name, make) => {
    const before = issuerJwks.hits();
    expect(await refusal(await make())).toBe('invalid_token');
    expect(attackerServer.hits()).toBe(0);
    // At most one JWKS fetch, for the first use of the cache.
    expect(issuerJwks.hits() - before).toBeLessThanOrEqual(before === 0 ? 1 : 0);
  });

  it('refetches for unknown kids at most once per cooldown', async () => {
    const before = issuerJwks.hits();
    for (let i = 0; i < 20; i += 1) {
      expect(await refusal(await sign(goodClaims(), { kid: `unknown-${i}` }))).toBe('invalid_token');
    }
    expect(issuerJwks.hits() - before).toBeLessThanOrEqual(1);
  });

  it('answers jwks_unavailable, not invalid_token, when the keys cannot be fetched', async () => {
    const offline = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: 'http://127.0.0.1:9/jwks.json' });
    try {
      await offline.verify(await sign(goodClaims()));
      expect.unreachable();
    } catch (error) {
      expect((error as VerificationError).code).toBe('jwks_unavailable');
    }
  });
});

describe('token age and configuration', () => {
  it('accepts a token for any one of the names a service answers to, and no other', async () => {
    const twoNames = createVerifier({ issuer: ISSUER, audience: [AUDIENCE, 'https://orders.test/v2'], jwks: { keys: [keys.publicJwk] } });
    const forV2 = await sign({ ...goodClaims(), aud: ['https://billing.test', 'https://orders.test/v2'] });
    await expect(twoNames.verify(forV2)).resolves.toMatchObject({ sub: 'user-1' });
    await expect(twoNames.verify(await sign(goodClaims()))).resolves.toMatchObject({ sub: 'user-1' });
    const elsewhere = await sign({ ...goodClaims(), aud: ['https://billing.test', 'https://orders.test/v3'] });
    await expect(twoNames.verify(elsewhere)).rejects.toMatchObject({ code: 'invalid_token', reason: 'claim_aud' });
  });

  it('refuses tokens older than maxTokenAge, whatever their exp', async () => {
    const strict = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [keys.publicJwk] }, maxTokenAge: 300 });
    await expect(strict.verify(await sign({ ...goodClaims(), iat: now() - 60 }))).resolves.toMatchObject({ sub: 'user-1' });
    await expect(strict.verify(await sign({ ...goodClaims(), iat: now() - 400 }))).rejects.toMatchObject({
      code: 'invalid_token',
      reason: 'expired',
    });
    expect(() => createVerifier({ issuer: ISSUER, audience: AUDIENCE, maxTokenAge: -1 })).toThrow(TypeError);
  });

  it('accepts iat a little ahead, within the clock tolerance', async () => {
    await expect(verifier.verify(await sign({ ...goodClaims(), iat: now() + 10 }))).resolves.toMatchObject({ sub: 'user-1' });
  });

  it('reports an issuer that differs from discovery as the configuration mistake it is', async () => {
    // The issuer's metadata names itself without the trailing slash this service was given.
    let origin = '';
    const discovery = await serve(() => ({ issuer: origin, jwks_uri: issuerJwks.url }));
    origin = discovery.url.replace('/jwks.json', '');
    const misconfigured = createVerifier({ issuer: `${origin}/`, audience: AUDIENCE });
    const error = (await misconfigured.verify(await sign(goodClaims())).catch((caught: unknown) => caught)) as VerificationError;
    expect(error).toBeInstanceOf(VerificationError);
    expect(error.code).toBe('issuer_mismatch');
    expect(error.message).toContain('must match exactly');
    await misconfigured.close();
    await discovery.close();
  });
});

describe('the cached key set', () => {
  it('lets concurrent first callers share the first fetch instead of failing while it is in flight', async () => {
    const slow = await serve(() => ({ keys: [keys.publicJwk] }), 300);
    const cold = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: slow.url });
    const token = await sign(goodClaims());
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => cold.verify(token)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(10).fill('fulfilled'));
    expect(slow.hits()).toBe(1);
    await cold.close();
    await slow.close();
  });

  it('lets concurrent callers with a new kid share one refetch', async () => {
    const next = await generateKeyPair('RS256', { extractable: true });
    const nextJwk = { ...(await exportJWK(next.publicKey)), kid: 'key-2', alg: 'RS256', use: 'sig' };
    let published = [keys.publicJwk];
    const jwks = await serve(() => ({ keys: published }), 200);
    const warm = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.url, jwksCooldown: 0.3 });
    await warm.verify(await sign(goodClaims()));
    published = [nextJwk, keys.publicJwk];
    await new Promise((resolve) => setTimeout(resolve, 400)); // past the cooldown of the first fetch
    const rotated = await sign(goodClaims(), { kid: 'key-2' }, next.privateKey);
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => warm.verify(rotated)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(10).fill('fulfilled'));
    expect(jwks.hits()).toBe(2);
    await warm.close();
    await jwks.close();
  });

  it('keeps verifying with the last good keys when the issuer is gone after they went stale', async () => {
    const jwks = await serve(() => ({ keys: [keys.publicJwk] }));
    const cached = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.url, jwksCacheMaxAge: 0.2, jwksCooldown: 0 });
    const genuine = await sign(goodClaims());
    await expect(cached.verify(genuine)).resolves.toMatchObject({ sub: 'user-1' });
    await jwks.close();
    await new Promise((resolve) => setTimeout(resolve, 400));
    await expect(cached.verify(genuine)).resolves.toMatchObject({ sub: 'user-1' });
    // Stale keys still refuse what they always refused.
    await expect(cached.verify(await sign(goodClaims(), {}, attacker.privateKey))).rejects.toMatchObject({ code: 'invalid_token' });
    await cached.close();
  });
});
