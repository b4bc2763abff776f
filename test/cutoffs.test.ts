import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from '@token-issuer/verifier';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { createMemoryDenylist } from '../src/denylist/memory-denylist.js';
import { revokeIssuedBefore } from '../src/revocation/incident-revocation.js';
import { refillDenylist } from '../src/revocation/denylist-sync.js';
import { createInProcessApp, type InProcessApp } from './support/in-process-app.js';

const ISSUER = 'http://issuer.test';
const AUDIENCE = 'https://items.test';

/**
 * Embedded mode (PGlite, the in-process denylist): the same cut-off rules as with PostgreSQL and
 * Redis, checked at /introspect and by the verifier library on the issuer's own denylist.
 */
describe('cut-offs in embedded mode', () => {
  // The issuer's clock stands still in the middle of second T, so that a token minted after a
  // cut-off at T falls in the very second the cut-off covers.
  const T = Math.floor(Date.now() / 1000);
  let harness: InProcessApp;
  let ops: CreatedClient;
  let verifier: Verifier;

  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  const tokenOf = async (client: CreatedClient, scope?: string) => {
    const response = await harness.app.request(
      '/token',
      form({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret!, ...(scope ? { scope } : {}) }),
    );
    expect(response.status).toBe(200);
    return ((await response.json()) as { access_token: string }).access_token;
  };
  const adminCall = async (method: string, path: string, json?: unknown) =>
    harness.app.request(path, {
      method,
      headers: { Authorization: `Bearer ${await tokenOf(ops, 'admin introspect')}`, 'Content-Type': 'application/json' },
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    });
  const introspect = async (token: string) => {
    const response = await harness.app.request('/introspect', {
      ...form({ token }),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${await tokenOf(ops, 'admin introspect')}` },
    });
    return (await response.json()) as { active: boolean };
  };
  const refusal = (token: string, checker = verifier) =>
    checker.verify(token).then(
      () => 'accepted',
      (error: { reason: string }) => error.reason,
    );
  const machine = (name: string) =>
    createClient(harness.database.db, { name, grantTypes: ['client_credentials'], scopes: ['items:read'], audiences: [AUDIENCE] });

  beforeAll(async () => {
    harness = await createInProcessApp({ issuer: ISSUER, now: () => new Date(T * 1000 + 500) });
    ops = await createClient(harness.database.db, {
      name: 'ops',
      grantTypes: ['client_credentials'],
      scopes: ['admin', 'introspect'],
      audiences: [ISSUER],
    });
    verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keySet: () => harness.keyRing.verificationKeys(),
      revocations: harness.denylist,
    });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('a cut-off is inclusive to the second of the issuer’s clock; a token minted after it in that second is dated T + 1', async () => {
    const client = await machine('boundary');
    const before = await tokenOf(client);
    expect(decodeJwt(before).iat).toBe(T);
    await revokeIssuedBefore(harness.revocation, { clientId: client.id }, { before: new Date(T * 1000), audit: {} });
    expect(await refusal(before)).toBe('revoked_client');
    const after = await tokenOf(client);
    expect(decodeJwt(after).iat).toBe(T + 1);
    expect(await refusal(after)).toBe('accepted');
  });

  it('deleting a client: inactive at /introspect at once, refused by the rule that says so', async () => {
    const client = await machine('doomed');
    const token = await tokenOf(client);
    expect((await introspect(token)).active).toBe(true);
    expect((await adminCall('DELETE', `/admin/clients/${client.id}`)).status).toBe(204);
    expect(await introspect(token)).toEqual({ active: false });
    expect(await refusal(token)).toBe('revoked_client');
  });

  it('keys revoke: the key leaves the JWKS, a new one signs, and its tokens are refused even with an old JWKS copy', async () => {
    const client = await machine('keyed');
    const token = await tokenOf(client);
    const oldJwks = JSON.parse(harness.keyRing.jwks().body) as JSONWebKeySet;
    const { kid } = decodeProtectedHeader(token);
    const answer = await adminCall('POST', `/admin/keys/${kid}/revoke`);
    expect(answer.status).toBe(200);
    const cached = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: oldJwks, revocations: harness.denylist });
    expect(await refusal(token, cached)).toBe('revoked_key');
    expect(await refusal(token)).toBe('unknown_key');
    expect(JSON.parse(harness.keyRing.jwks().body).keys.map((key: { kid: string }) => key.kid)).not.toContain(kid);
    const next = await tokenOf(client);
    expect(decodeProtectedHeader(next).kid).toBe(((await answer.json()) as { replaced_by: string }).replaced_by);
    expect(await refusal(next)).toBe('accepted');
  });

  it('a cut-off written while the server is stopped reaches it at start, through the refill from the database', async () => {
    const client = await machine('offline');
    const token = await tokenOf(client);
    await revokeIssuedBefore({ ...harness.revocation, denylist: createMemoryDenylist() }, { clientId: client.id }, { audit: {} });
    expect(await refusal(token)).toBe('accepted'); // this process's denylist has not heard of it
    const restarted = createMemoryDenylist();
    await refillDenylist({ db: harness.database.db, denylist: restarted });
    const afterRestart = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keySet: () => harness.keyRing.verificationKeys(),
      revocations: restarted,
    });
    expect(await refusal(token, afterRestart)).toBe('revoked_client');
  });
});
