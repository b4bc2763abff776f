import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { createInProcessApp, type InProcessApp } from './support/in-process-app.js';

const ISSUER = 'http://issuer.test';
const API = 'https://api.test';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface Signer {
  privateKey: CryptoKey;
  publicJwk: JWK & { kty: 'RSA' | 'EC' };
  alg: string;
}

async function signerOf(alg: 'RS256' | 'ES256', kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const jwk = await exportJWK(publicKey);
  return { privateKey, publicJwk: { ...jwk, kty: jwk.kty as 'RSA' | 'EC', kid, alg }, alg };
}

/**
 * private_key_jwt (RFC 7523 §2.2) at the token, revocation and introspection endpoints, with
 * assertions built by hand: each claim the RFC requires, broken one at a time.
 */
describe('client authentication with private_key_jwt', () => {
  let harness: InProcessApp;
  let rsa: Signer;
  let ec: Signer;
  let stranger: Signer;
  let client: CreatedClient;

  const now = () => Math.floor(Date.now() / 1000);
  const assertion = (
    options: { signer?: Signer; claims?: Record<string, unknown>; header?: Record<string, unknown>; clientId?: string } = {},
  ) => {
    const signer = options.signer ?? rsa;
    const id = options.clientId ?? client.id;
    return new SignJWT({
      iss: id,
      sub: id,
      aud: `${ISSUER}/token`,
      jti: randomBytes(12).toString('hex'),
      iat: now(),
      exp: now() + 60,
      ...options.claims,
    })
      .setProtectedHeader({ alg: signer.alg, kid: signer.publicJwk.kid, ...options.header })
      .sign(signer.privateKey);
  };
  const post = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    harness.app.request(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields),
    });
  const tokenWith = async (jwt: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}) => {
    const response = await post(
      '/token',
      { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: jwt, ...extra },
      headers,
    );
    return [response.status, ((await response.json()) as { error?: string }).error ?? 'issued'];
  };

  beforeAll(async () => {
    harness = await createInProcessApp({ issuer: ISSUER, env: { CLIENT_JWKS_COOLDOWN_SECONDS: '1' } });
    [rsa, ec, stranger] = await Promise.all([signerOf('RS256', 'rsa-1'), signerOf('ES256', 'ec-1'), signerOf('RS256', 'rsa-1')]);
    client = await createClient(harness.database.db, {
      name: 'keyed',
      grantTypes: ['client_credentials'],
      scopes: ['introspect'],
      audiences: [API, ISSUER],
      authMethods: ['private_key_jwt'],
      jwks: { keys: [rsa.publicJwk, ec.publicJwk] },
    });
  });

  afterAll(() => harness?.close());

  it('issues a token for an assertion signed by a registered key, RS256 or ES256, to the issuer or its token endpoint', async () => {
    expect(client.secret).toBeUndefined();
    expect(await tokenWith(await assertion())).toEqual([200, 'issued']);
    expect(await tokenWith(await assertion({ signer: ec, claims: { aud: ISSUER } }))).toEqual([200, 'issued']);
    expect(await tokenWith(await assertion(), { client_id: client.id })).toEqual([200, 'issued']);
    // A list holding only the issuer (some libraries send one) is still the issuer alone.
    expect(await tokenWith(await assertion({ claims: { aud: [ISSUER] } }))).toEqual([200, 'issued']);
  });

  it.each([
    ['another audience', { claims: { aud: 'https://elsewhere.test/token' } }],
    // draft-ietf-oauth-rfc7523bis: an assertion that also names another server could be replayed there.
    ['an audience list naming another server too', { claims: { aud: [ISSUER, 'https://attacker-as.example/token'] } }],
    ['the token endpoint beside another server', { claims: { aud: [`${ISSUER}/token`, 'https://attacker-as.example/token'] } }],
    ['an expired assertion', { claims: { exp: Math.floor(Date.now() / 1000) - 60, iat: Math.floor(Date.now() / 1000) - 120 } }],
    ['exp more than 5 minutes ahead', { claims: { exp: Math.floor(Date.now() / 1000) + 3600 } }],
    ['no jti', { claims: { jti: undefined } }],
    ['iss other than sub', { claims: { sub: 'someone-else' } }],
  ])('refuses %s with invalid_client', async (_name, options) => {
    expect(await tokenWith(await assertion(options))).toEqual([401, 'invalid_client']);
  });

  it('refuses an assertion presented a second time', async () => {
    const once = await assertion();
    expect(await tokenWith(once)).toEqual([200, 'issued']);
    expect(await tokenWith(once)).toEqual([401, 'invalid_client']);
  });

  it('refuses a key it does not know (same kid), HS256 and alg none', async () => {
    expect(await tokenWith(await assertion({ signer: stranger }))).toEqual([401, 'invalid_client']);
    const secret = new TextEncoder().encode('a shared secret is what this method avoids');
    const id = client.id;
    const hs256 = await new SignJWT({ iss: id, sub: id, aud: `${ISSUER}/token`, jti: 'hs', exp: now() + 60 })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
      .sign(secret);
    expect(await tokenWith(hs256)).toEqual([401, 'invalid_client']);
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none' }))}.${base64url.encode(JSON.stringify({ iss: id, sub: id, aud: `${ISSUER}/token`, jti: 'none', exp: now() + 60 }))}.`;
    expect(await tokenWith(unsigned)).toEqual([401, 'invalid_client']);
  });

  it('takes one authentication method per request, the registered type only, and never the client_id alone', async () => {
    expect(await tokenWith(await assertion(), { client_secret: 'x' })).toEqual([400, 'invalid_request']);
    expect(await tokenWith(await assertion(), {}, { Authorization: `Basic ${btoa(`${client.id}:x`)}` })).toEqual([400, 'invalid_request']);
    expect(await tokenWith(await assertion(), { client_id: 'another-client' })).toEqual([401, 'invalid_client']);
    const wrongType = await post('/token', {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:example:saml',
      client_assertion: await assertion(),
    });
    expect(wrongType.status).toBe(401);
    // A client with keys and no secret is confidential: its client_id alone is not enough.
    const alone = await post('/token', { grant_type: 'client_credentials', client_id: client.id });
    expect([alone.status, ((await alone.json()) as { error: string }).error]).toEqual([401, 'invalid_client']);
  });

  it('authenticates at /revoke and /introspect the same way', async () => {
    const token = (
      (await (
        await post('/token', {
          grant_type: 'client_credentials',
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: await assertion(),
        })
      ).json()) as { access_token: string }
    ).access_token;
    const introspected = await post('/introspect', {
      token,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion({ claims: { aud: ISSUER } }),
    });
    expect(((await introspected.json()) as { active: boolean }).active).toBe(true);
    const revoked = await post('/revoke', {
      token,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion({ claims: { aud: ISSUER } }),
    });
    expect(revoked.status).toBe(200);
    const after = await post('/introspect', {
      token,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion({ claims: { aud: ISSUER } }),
    });
    expect(await after.json()).toEqual({ active: false });
    const replayed = await post('/revoke', { token, client_assertion_type: ASSERTION_TYPE, client_assertion: 'not.a.jwt' });
    expect(replayed.status).toBe(401);
  });

  describe('with a jwks_uri the client serves', () => {
    let server: Server;
    let served: JWK[] = [];

    beforeAll(async () => {
      server = createServer((_request, response) => {
        response.writeHead(200, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ keys: served }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('picks up the client’s new key after the cooldown, and drops the old one', async () => {
      const first = await signerOf('RS256', 'first');
      const second = await signerOf('RS256', 'second');
      served = [first.publicJwk];
      const { port } = server.address() as { port: number };
      const rotating = await createClient(harness.database.db, {
        name: 'rotating',
        grantTypes: ['client_credentials'],
        scopes: [],
        audiences: [API],
        authMethods: ['private_key_jwt'],
        jwksUri: `http://127.0.0.1:${port}/jwks.json`,
      });
      const as = async (signer: Signer) => tokenWith(await assertion({ signer, clientId: rotating.id }));
      expect(await as(first)).toEqual([200, 'issued']);

      served = [second.publicJwk];
      // CLIENT_JWKS_COOLDOWN_SECONDS=1 here: within it an unknown key does not cause a fetch.
      await expect.poll(async () => (await as(second))[0], { timeout: 5_000, interval: 300 }).toBe(200);
      expect(await as(first)).toEqual([401, 'invalid_client']);
    });
  });

  it('refuses registrations that cannot work, with the field named', async () => {
    const admin = (body: Record<string, unknown>) =>
      createClient(harness.database.db, { name: 'x', grantTypes: ['client_credentials'], scopes: [], audiences: [API], ...body }).then(
        () => 'created',
        (error: Error) => error.message,
      );
    expect(await admin({ authMethods: ['private_key_jwt'] })).toContain('private_key_jwt needs');
    expect(await admin({ authMethods: ['private_key_jwt'], jwks: { keys: [{ ...rsa.publicJwk, d: 'private' }] } })).toContain(
      'must be public',
    );
    expect(await admin({ authMethods: ['private_key_jwt'], jwksUri: 'http://keys.example.com/jwks.json' })).toContain('https');
    expect(await admin({ jwks: { keys: [rsa.publicJwk] } })).toContain('private_key_jwt needs');
  });
});
