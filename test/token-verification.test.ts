import { createPublicKey } from 'node:crypto';
import {
  base64url,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
} from 'jose';
import { eq, isNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { refreshSigningKeys } from '../src/db/schema.js';
import { keyPolicyFrom } from '../src/keys/key-store.js';
import { mintAccessToken, signJwt } from '../src/tokens/access-token.js';
import { registerUser } from '../src/users/accounts.js';
import { TokenRejectedError, verifyOwnToken } from '../src/tokens/verify-own-token.js';
import { createInProcessApp, type InProcessApp } from './support/in-process-app.js';
import { testSigner } from './support/signer.js';

const ISSUER = 'http://issuer.test';
const expected = { issuer: ISSUER, typ: 'at+jwt' };
const PASSWORD = 'a long and proper passphrase';

let harness: InProcessApp;
let genuine: string;

beforeAll(async () => {
  harness = await createInProcessApp({ issuer: ISSUER });
  const signer = testSigner(harness.keyRing, ISSUER);
  genuine = (await mintAccessToken(signer, { subject: 's', clientId: 'c', audience: ['https://api'], scope: [] })).token;
});
afterAll(async () => {
  await harness?.close();
});

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
const rejected = (token: string) => expect(verifyOwnToken(harness.keyRing, expected, token)).rejects.toBeInstanceOf(TokenRejectedError);

/** RFC 8725 §2 attacks against our own verification; each must fail. */
describe('verifying our own tokens', () => {
  it('accepts a genuine token', async () => {
    await expect(verifyOwnToken(harness.keyRing, expected, genuine)).resolves.toMatchObject({ sub: 's', iss: ISSUER });
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('refuses alg %s with no signature', async (alg) => {
    await rejected(`${encode({ alg, typ: 'at+jwt' })}.${encode(claimsOf(genuine))}.`);
    await rejected(`${encode({ alg, typ: 'at+jwt' })}.${encode(claimsOf(genuine))}.${base64url.encode('x')}`);
  });

  it('refuses HS256 signed with our RSA public key as the HMAC secret', async () => {
    const jwks = JSON.parse(harness.keyRing.jwks().body) as { keys: JWK[] };
    const publicPem = createPublicKey({ key: jwks.keys[0]! as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const forged = await new SignJWT(claimsOf(genuine))
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: jwks.keys[0]!.kid })
      .sign(new TextEncoder().encode(String(publicPem)));
    await rejected(forged);
  });

  it('ignores keys offered in the token: jwk and jku headers with an attacker key', async () => {
    const attacker = await generateKeyPair('RS256');
    const attackerJwk = await exportJWK(attacker.publicKey);
    for (const header of [{ jwk: attackerJwk }, { jku: 'http://attacker.example/jwks.json' }, { x5u: 'http://attacker.example/cert' }]) {
      const forged = await new SignJWT(claimsOf(genuine))
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', ...header })
        .sign(attacker.privateKey);
      await rejected(forged);
    }
  });

  it('treats kid as a lookup key only: unknown, path-like and SQL-like kids are refused', async () => {
    const attacker = await generateKeyPair('RS256');
    for (const kid of ['unknown', '../../etc/passwd', "' OR 1=1 --"]) {
      const forged = await new SignJWT(claimsOf(genuine))
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
        .sign(attacker.privateKey);
      await rejected(forged);
    }
  });

  it('refuses an unknown critical header', async () => {
    const [, payload, signature] = genuine.split('.');
    await rejected(`${encode({ alg: 'RS256', typ: 'at+jwt', crit: ['exp-v2'], 'exp-v2': 1 })}.${payload}.${signature}`);
  });

  it('refuses a token of another type, another issuer, an expired one, and an oversized one', async () => {
    await expect(verifyOwnToken(harness.keyRing, { issuer: ISSUER, typ: 'rt+jwt' }, genuine)).rejects.toBeInstanceOf(TokenRejectedError);
    await expect(verifyOwnToken(harness.keyRing, { issuer: 'http://other.test', typ: 'at+jwt' }, genuine)).rejects.toBeInstanceOf(
      TokenRejectedError,
    );
    const past = testSigner(harness.keyRing, ISSUER, { ttlSeconds: 60, offsetMs: -3_600_000 });
    await rejected((await mintAccessToken(past, { subject: 's', clientId: 'c', audience: ['a'], scope: [] })).token);
    await rejected(`${genuine}${'A'.repeat(9000)}`);
  });

  it('refuses a token issued in the future beyond the clock tolerance', async () => {
    const ahead = (seconds: number) => testSigner(harness.keyRing, ISSUER, { offsetMs: seconds * 1000 });
    await rejected((await mintAccessToken(ahead(120), { subject: 's', clientId: 'c', audience: ['a'], scope: [] })).token);
    await expect(
      verifyOwnToken(
        harness.keyRing,
        expected,
        (await mintAccessToken(ahead(2), { subject: 's', clientId: 'c', audience: ['a'], scope: [] })).token,
      ),
    ).resolves.toBeDefined();
  });
});

describe('refresh tokens', () => {
  let web: CreatedClient;
  let refreshToken: string;

  beforeAll(async () => {
    web = await createClient(harness.database.db, {
      name: 'web',
      grantTypes: ['password', 'refresh_token'],
      scopes: [],
      audiences: ['https://api'],
    });
    await registerUser(harness.accounts, { username: 'rita', email: 'rita@example.com' }, PASSWORD);
    refreshToken = String((await tokenRequest({ grant_type: 'password', username: 'rita', password: PASSWORD })).refresh_token);
  });

  const tokenRequest = async (params: Record<string, string>): Promise<Record<string, unknown>> => {
    const response = await harness.app.request('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...params, client_id: web.id, client_secret: web.secret! }),
    });
    return { status: response.status, ...((await response.json()) as Record<string, unknown>) };
  };

  it('fail at a verifier that checks neither typ nor aud: no key in the JWKS verifies them', async () => {
    const jwks = (await (await harness.app.request('/.well-known/jwks.json')).json()) as { keys: JWK[] };
    await expect(jwtVerify(refreshToken, createLocalJWKSet(jwks), { issuer: ISSUER })).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    // Even a verifier that tries every published key, ignoring kid, cannot verify one: refresh
    // tokens are EdDSA and the published key RSA (an EdDSA published key is tried in signing-algorithms.e2e).
    expect(decodeProtectedHeader(refreshToken).alg).toBe('EdDSA');
    for (const jwk of jwks.keys) {
      expect(jwk.kty).toBe('RSA');
      await expect(jwtVerify(refreshToken, await importJWK(jwk, 'RS256'))).rejects.toThrow();
    }
  });

  it('are rotated to EdDSA when an earlier version left an RS256 refresh key, whose tokens keep working', async () => {
    // What an earlier version left: the RS256 refresh key signing, and a refresh token of this session signed by it.
    const backend = keyPolicyFrom(harness.config, harness.keyEncryptionKey).backend;
    const old = await backend.generate('RS256');
    const { db } = harness.database;
    await db
      .update(refreshSigningKeys)
      .set({ retiredAt: sql`now()` })
      .where(isNull(refreshSigningKeys.retiredAt));
    await db.insert(refreshSigningKeys).values({ ...old, algorithm: 'RS256', activatesAt: sql`now()` });
    const signer = await backend.signer({ kid: old.kid, algorithm: 'RS256', privateKeySealed: old.privateKeySealed });
    const session = decodeJwt(String((await tokenRequest({ grant_type: 'password', username: 'rita', password: PASSWORD })).refresh_token));
    const legacy = await signJwt(
      testSigner(harness.keyRing, ISSUER),
      'rt+jwt',
      { client_id: session.client_id, scope: session.scope },
      { subject: session.sub!, audience: ISSUER, issuedAt: session.iat!, expiresAt: session.exp!, jti: session.jti },
      signer,
    );

    // The next instance to start makes an Ed25519 refresh key (signing at once here: no activation delay).
    const next = await createInProcessApp({ issuer: ISSUER, database: harness.database, keyEncryptionKey: harness.keyEncryptionKey });
    try {
      expect(next.keyRing.currentRefreshKey().algorithm).toBe('EdDSA');
      const keys = await db.select().from(refreshSigningKeys).where(eq(refreshSigningKeys.kid, old.kid));
      expect(keys[0]!.retiredAt).not.toBeNull();
      const response = await next.app.request('/token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: legacy, client_id: web.id, client_secret: web.secret! }),
      });
      expect(response.status).toBe(200);
      const rotated = String(((await response.json()) as { refresh_token: string }).refresh_token);
      expect(decodeProtectedHeader(rotated)).toMatchObject({ alg: 'EdDSA', kid: next.keyRing.currentRefreshKey().kid });
    } finally {
      next.keyRing.stop();
    }
  });

  it('still work when signed with a published key, as they were before refresh keys existed, until they expire', async () => {
    const claims = decodeJwt(refreshToken);
    const signer = testSigner(harness.keyRing, ISSUER);
    const legacy = await signJwt(
      signer,
      'rt+jwt',
      { client_id: claims.client_id, scope: claims.scope },
      {
        subject: claims.sub!,
        audience: ISSUER,
        issuedAt: claims.iat!,
        expiresAt: claims.exp!,
        jti: claims.jti,
      },
    );
    expect(decodeProtectedHeader(legacy).kid).toBe(harness.keyRing.current().kid);
    const refreshed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: legacy });
    expect(refreshed.status).toBe(200);
    expect(decodeProtectedHeader(String(refreshed.refresh_token)).kid).toBe(harness.keyRing.currentRefreshKey().kid);
  });
});
