import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post } from '../support/oauth-client.js';
import { serviceAccountClaims, startWorkloadIssuer, type WorkloadIssuer } from '../support/workload-issuer.js';
import { adminId, API, asAdmin, url, useAdminServer, worker } from '../support/admin-server.js';

useAdminServer();

describe('/admin/federation', () => {
  let cluster: WorkloadIssuer;
  beforeAll(async () => {
    cluster = await startWorkloadIssuer();
  });
  afterAll(() => cluster?.close());

  const exchange = async (token: string) =>
    (
      await post(`${url}/token`, {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: token,
      })
    ).status;

  it('trusts an issuer and binds a workload, which then authenticates; removing either stops it', async () => {
    const issuerBody = { issuer: cluster.issuer, audience: 'token-issuer', jwks_uri: `${cluster.issuer}/openid/v1/jwks` };
    const trusted = await asAdmin('POST', '/admin/federation/issuers', issuerBody);
    expect(trusted.status, JSON.stringify(trusted.body)).toBe(201);
    expect(trusted.body).toMatchObject({ ...issuerBody, max_token_age_seconds: 300, bindings: [] });
    expect((await asAdmin('POST', '/admin/federation/issuers', issuerBody)).body).toMatchObject({ error: 'already_trusted' });

    const billing = await asAdmin('POST', '/admin/clients', {
      name: 'billing',
      grant_types: ['client_credentials'],
      audiences: [API],
      auth_methods: ['federation'],
    });
    const subject = 'system:serviceaccount:billing:api';
    const bound = await asAdmin('POST', '/admin/federation/bindings', {
      client_id: billing.body.client_id,
      issuer: cluster.issuer,
      subject,
    });
    expect(bound.status, JSON.stringify(bound.body)).toBe(201);
    const listed = await asAdmin('GET', '/admin/federation/issuers');
    expect(listed.body.items).toEqual([
      expect.objectContaining({ id: trusted.body.id, bindings: [expect.objectContaining({ id: bound.body.id, subject, claims: {} })] }),
    ]);
    expect(await exchange(await cluster.mint(serviceAccountClaims('billing', 'api', 'token-issuer')))).toBe(200);

    expect((await asAdmin('DELETE', `/admin/federation/bindings/${String(bound.body.id)}`)).status).toBe(204);
    expect((await asAdmin('DELETE', `/admin/federation/bindings/${String(bound.body.id)}`)).status).toBe(404);
    expect(await exchange(await cluster.mint(serviceAccountClaims('billing', 'api', 'token-issuer')))).toBe(401);
    expect((await asAdmin('DELETE', `/admin/federation/issuers/${String(trusted.body.id)}`)).status).toBe(204);
    expect((await asAdmin('GET', '/admin/federation/issuers')).body.items).toEqual([]);

    const events = await asAdmin('GET', `/admin/audit?actor=user:${adminId}&limit=10`);
    expect(events.body.items!.slice(0, 5).map((event) => event.type)).toEqual([
      'trusted_issuer_removed',
      'workload_unbound',
      'workload_bound',
      'client_created',
      'trusted_issuer_added',
    ]);
  });

  it('refuses what the federation rules refuse, naming the field, and changes nothing', async () => {
    const base = { issuer: 'https://k8s.example.com', audience: 'token-issuer' };
    const refusals = [
      [await asAdmin('POST', '/admin/federation/issuers', base), "jwks: the issuer's keys: exactly one of jwks, jwks_uri and discover"],
      [await asAdmin('POST', '/admin/federation/issuers', { ...base, jwks_uri: 'http://10.0.0.1/jwks' }), 'jwks_uri:'],
      [await asAdmin('POST', '/admin/federation/issuers', { ...base, issuer: 'ftp://x', jwks_uri: 'https://x/j' }), 'issuer:'],
      [
        await asAdmin('POST', '/admin/federation/issuers', { ...base, jwks_uri: 'https://x/j', max_token_age_seconds: 0 }),
        'max_token_age_seconds:',
      ],
      [await asAdmin('POST', '/admin/federation/issuers', { ...base, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }), 'jwks.keys.0'],
      [await asAdmin('POST', '/admin/federation/bindings', { client_id: worker.client_id, issuer: base.issuer }), 'subject:'],
      [
        await asAdmin('POST', '/admin/federation/bindings', { client_id: worker.client_id, issuer: base.issuer, subject: 's' }),
        'does not allow federation',
      ],
    ] as const;
    for (const [response, message] of refusals) {
      expect([response.status, String(response.body.error_description)]).toEqual([400, expect.stringContaining(message)]);
    }
    const unknownClient = await asAdmin('POST', '/admin/federation/bindings', { client_id: 'nobody', issuer: base.issuer, subject: 's' });
    expect(unknownClient.status).toBe(404);
    expect((await asAdmin('DELETE', '/admin/federation/issuers/not-a-uuid')).status).toBe(404);
    expect((await asAdmin('GET', '/admin/federation/issuers')).body.items).toEqual([]);
  });
});
