import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/clients/client-registry.js';
import { signingKeys } from '../src/db/schema.js';
import type { KeyBackend } from '../src/keys/key-backend.js';
import { localSigner } from '../src/keys/signer.js';
import { generateSigningKey, type SigningAlgorithm } from '../src/keys/signing-key.js';
import { createInProcessApp, type InProcessApp } from './support/in-process-app.js';

const ISSUER = 'http://issuer.test';
const AUDIENCE = 'https://api.test';

/**
 * A signing service over HTTP standing in for a KMS (AWS KMS, Vault transit): it makes keys, keeps
 * their private halves, hands out key references and public keys, and signs bytes on request.
 */
function startSigningService() {
  const keys = new Map<string, { algorithm: SigningAlgorithm; privateJwk: JWK }>();
  let signatures = 0;
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      void (async () => {
        const input = JSON.parse(body) as { algorithm?: SigningAlgorithm; ref?: string; message?: string };
        if (request.url === '/keys') {
          const key = await generateSigningKey(input.algorithm!, 2048);
          const ref = `signing-service:key/${randomUUID()}`;
          keys.set(ref, { algorithm: input.algorithm!, privateJwk: key.privateJwk as JWK });
          const { kid: _kid, alg: _alg, use: _use, ...publicKey } = key.publicJwk;
          response.end(JSON.stringify({ ref, publicKey }));
        } else {
          const key = keys.get(input.ref!)!;
          signatures++;
          const signature = await localSigner('-', key.algorithm, key.privateJwk as Record<string, string>).sign(
            Buffer.from(input.message!, 'base64'),
          );
          response.end(JSON.stringify({ signature: signature.toString('base64') }));
        }
      })();
    });
  });
  server.listen(0, '127.0.0.1');
  return {
    server,
    signatures: () => signatures,
    holdsPrivateKey: (ref: string) => keys.has(ref),
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
}

/** A KeyBackend written against the seam only (docs/keys.md): no token code knows it exists. */
function remoteBackend(serviceUrl: () => string): KeyBackend {
  const call = async (path: string, body: unknown) =>
    (await (await fetch(`${serviceUrl()}${path}`, { method: 'POST', body: JSON.stringify(body) })).json()) as Record<string, unknown>;
  return {
    async generate(algorithm) {
      const { ref, publicKey } = (await call('/keys', { algorithm })) as { ref: string; publicKey: JWK };
      const kid = await calculateJwkThumbprint(publicKey, 'sha256');
      return { kid, publicJwk: { ...publicKey, kty: publicKey.kty!, kid, alg: algorithm, use: 'sig' }, privateKeySealed: ref };
    },
    async signer({ kid, algorithm, privateKeySealed }) {
      return {
        kid,
        algorithm,
        sign: async (input) =>
          Buffer.from((await call('/sign', { ref: privateKeySealed, message: input.toString('base64') })).signature as string, 'base64'),
      };
    },
  };
}

describe.each(['RS256', 'ES256'] as const)('a remote signer behind the seam (%s)', (algorithm) => {
  const service = startSigningService();
  let harness: InProcessApp;
  let client: { id: string; secret: string };

  beforeAll(async () => {
    harness = await createInProcessApp({ issuer: ISSUER, env: { SIGNING_ALGORITHM: algorithm }, keyBackend: remoteBackend(service.url) });
    const created = await createClient(harness.database.db, {
      name: 'machine',
      grantTypes: ['client_credentials'],
      scopes: [],
      audiences: [AUDIENCE],
      redirectUris: [],
    });
    client = { id: created.id, secret: created.secret! };
  });
  afterAll(async () => {
    await harness?.close();
    service.server.close();
  });

  it('signs every token with one call to the service, and the tokens verify against the JWKS', async () => {
    const before = service.signatures();
    const response = await harness.app.request('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${btoa(`${client.id}:${client.secret}`)}` },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(200);
    const { access_token: token } = (await response.json()) as { access_token: string };
    expect(service.signatures() - before).toBe(1);

    const jwks = (await (await harness.app.request('/.well-known/jwks.json')).json()) as { keys: JWK[] };
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: AUDIENCE, algorithms: [algorithm] });
    expect(payload.client_id).toBe(client.id);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: algorithm, kid: jwks.keys[0]!.kid });

    // The database holds the service's reference, never a private key.
    const [row] = await harness.database.db.select().from(signingKeys);
    expect(service.holdsPrivateKey(row!.privateKeySealed)).toBe(true);
    expect(row!.privateKeySealed).toMatch(/^signing-service:key\/[0-9a-f-]{36}$/);
  });
});
