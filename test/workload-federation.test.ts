import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuditEvents } from '../src/audit/audit-store.js';
import { runCli } from '../src/cli/run.js';
import { adminContextOf } from '../src/composition.js';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { createLogger } from '../src/logger.js';
import { createInProcessAppOn, socketFrom, type InProcessApp } from './support/in-process-app.js';
import { adminDatabaseUrl } from './support/test-database.js';
import { githubActionsClaims, serviceAccountClaims, startWorkloadIssuer, type WorkloadIssuer } from './support/workload-issuer.js';

const ISSUER = 'http://issuer.test';
const API = 'https://billing.test';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The audience an operator registers for the cluster: what the projected token's `audience` says. */
const OUR_AUDIENCE = 'token-issuer.example';
const CLIENT_IP = '198.51.100.23';

/**
 * Workload identity federation against real external issuers served over HTTP: a Kubernetes-like
 * cluster (discovered, as `federation add --discover` does) and a GitHub-Actions-like one, each
 * signing its own tokens. Issuers and bindings go in through the CLI's own commands.
 */
// On PGlite always, and on PostgreSQL when the suite has it (CI always has).
const DATABASES = adminDatabaseUrl ? ['PGlite', 'PostgreSQL'] : ['PGlite'];

describe.each(DATABASES)('workload identity federation (%s)', (database) => {
  let harness: InProcessApp;
  let cluster: WorkloadIssuer;
  let github: WorkloadIssuer;
  let stranger: WorkloadIssuer;
  let billing: CreatedClient;
  let deployer: CreatedClient;
  let reports: CreatedClient;

  const cli = async (...argv: string[]) => {
    const context = adminContextOf({
      config: harness.config,
      db: harness.database.db,
      logger: createLogger('silent'),
      denylist: harness.denylist,
    });
    const outcome = await runCli(argv, { readStdin: async () => '', warn: () => {} }, (run) => run(context));
    if (outcome.exitCode !== 0) throw new Error(outcome.stderr);
    return JSON.parse(outcome.stdout) as Record<string, unknown>;
  };
  const post = (path: string, fields: Record<string, string>) =>
    harness.app.request(
      path,
      { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) },
      socketFrom(CLIENT_IP),
    );
  const exchange = async (token: string, extra: Record<string, string> = {}) => {
    const response = await post('/token', {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: token,
      ...extra,
    });
    const body = (await response.json()) as { error?: string; access_token?: string };
    return { status: response.status, error: body.error ?? 'issued', accessToken: body.access_token };
  };
  const refusals = async () => (await listAuditEvents(harness.database.db, { type: 'client_authentication_failed' }, { limit: 200 })).items;
  const lastRefusal = async () => (await refusals())[0]!;
  const billingToken = (claims: Record<string, unknown> = {}) =>
    cluster.mint({ ...serviceAccountClaims('billing', 'api', OUR_AUDIENCE), ...claims });

  beforeAll(async () => {
    [harness, cluster, github, stranger] = await Promise.all([
      createInProcessAppOn(database === 'PostgreSQL', { issuer: ISSUER, env: { CLIENT_JWKS_COOLDOWN_SECONDS: '1' } }).then((app) => app!),
      startWorkloadIssuer(),
      startWorkloadIssuer(),
      startWorkloadIssuer(),
    ]);
    const federated = (name: string, scopes: string[]) =>
      createClient(harness.database.db, {
        name,
        grantTypes: ['client_credentials'],
        scopes,
        audiences: [API, ISSUER],
        authMethods: ['federation'],
      });
    [billing, deployer, reports] = await Promise.all([
      federated('billing', ['invoices:read', 'introspect']),
      federated('deployer', ['deploy']),
      federated('reports', ['reports:read']),
    ]);
    await cli('federation', 'add', '--issuer', cluster.issuer, '--discover', '--audience', OUR_AUDIENCE, '--max-token-age', '600');
    await cli('federation', 'add', '--issuer', github.issuer, '--jwks-uri', `${github.issuer}/openid/v1/jwks`, '--audience', OUR_AUDIENCE);
    await cli('federation', 'bind', billing.id, '--issuer', cluster.issuer, '--subject', 'system:serviceaccount:billing:api');
    await cli(
      'federation',
      'bind',
      deployer.id,
      '--issuer',
      github.issuer,
      '--claim',
      'repository=acme/shop',
      '--claim',
      'ref=refs/heads/main',
    );
  });

  afterAll(async () => {
    await Promise.all([harness?.close(), cluster?.close(), github?.close(), stranger?.close()]);
  });

  it('registers clients with no secret and lists the issuers with their bindings', async () => {
    expect(billing.secret).toBeUndefined();
    expect(billing.authMethods).toEqual(['federation']);
    expect(billing.isPublic).toBe(false);
    const listed = (await cli('federation', 'list')) as unknown as Array<Record<string, unknown>>;
    expect(listed).toMatchObject([
      {
        issuer: cluster.issuer,
        jwks_uri: `${cluster.issuer}/openid/v1/jwks`,
        audience: OUR_AUDIENCE,
        max_token_age_seconds: 600,
        bindings: [{ client_id: billing.id, subject: 'system:serviceaccount:billing:api', claims: {} }],
      },
      {
        issuer: github.issuer,
        max_token_age_seconds: 300,
        bindings: [{ client_id: deployer.id, claims: { repository: 'acme/shop', ref: 'refs/heads/main' } }],
      },
    ]);
  });

  it('gives a bound Kubernetes service account an access token for its client, signed by the JWKS', async () => {
    const result = await exchange(await billingToken(), { scope: 'invoices:read' });
    expect(result.error).toBe('issued');
    const jwks = (await (await harness.app.request('/.well-known/jwks.json')).json()) as JSONWebKeySet;
    const { payload } = await jwtVerify(result.accessToken!, createLocalJWKSet(jwks), { issuer: ISSUER, audience: API });
    expect(payload).toMatchObject({ sub: billing.id, client_id: billing.id, scope: 'invoices:read' });
  });

  it('takes the client_id when it names the bound client, and refuses one that is not bound', async () => {
    expect((await exchange(await billingToken(), { client_id: billing.id })).error).toBe('issued');
    expect((await exchange(await billingToken(), { client_id: reports.id })).status).toBe(401);
    expect(await lastRefusal()).toMatchObject({ clientId: reports.id, details: { reason: 'not_bound' } });
  });

  it('matches GitHub Actions tokens by their claims: the bound repository and branch only', async () => {
    const main = await github.mint(githubActionsClaims('acme/shop', 'refs/heads/main', OUR_AUDIENCE));
    expect((await exchange(main)).error).toBe('issued');
    for (const [repository, ref] of [
      ['acme/shop', 'refs/heads/feature'],
      ['mallory/shop', 'refs/heads/main'],
    ] as const) {
      const result = await exchange(await github.mint(githubActionsClaims(repository, ref, OUR_AUDIENCE)));
      expect([result.status, result.error]).toEqual([401, 'invalid_client']);
      expect(await lastRefusal()).toMatchObject({ details: { method: 'federation', reason: 'not_bound', issuer: github.issuer } });
    }
  });

  it.each([
    ['another subject', () => cluster.mint(serviceAccountClaims('billing', 'worker', OUR_AUDIENCE)), 'not_bound'],
    ['another issuer', () => stranger.mint(serviceAccountClaims('billing', 'api', OUR_AUDIENCE)), 'unknown_issuer'],
    ['the wrong audience', () => cluster.mint(serviceAccountClaims('billing', 'api', 'https://kubernetes.default.svc')), 'wrong_audience'],
    [
      'an audience list naming another service too',
      () => cluster.mint({ ...serviceAccountClaims('billing', 'api', OUR_AUDIENCE), aud: [OUR_AUDIENCE, 'https://attacker-as.example'] }),
      'wrong_audience',
    ],
    ['an expired token', () => cluster.mint({ ...serviceAccountClaims('billing', 'api', OUR_AUDIENCE), exp: now() - 60 }), 'expired'],
    [
      'a token older than the maximum age, though not expired',
      () => cluster.mint({ ...serviceAccountClaims('billing', 'api', OUR_AUDIENCE), iat: now() - 700, nbf: now() - 700 }),
      'too_old',
    ],
    [
      'a token carrying its own key in its header (jwk, jku)',
      async () => {
        const { privateKey, publicKey } = await generateKeyPair('RS256');
        const jwk = await exportJWK(publicKey);
        return new SignJWT(serviceAccountClaims('billing', 'api', OUR_AUDIENCE))
          .setProtectedHeader({ alg: 'RS256', jwk, jku: `${stranger.issuer}/openid/v1/jwks` })
          .setIssuer(cluster.issuer)
          .setIssuedAt()
          .setExpirationTime('5m')
          .setJti('own-key')
          .sign(privateKey);
      },
      'bad_signature',
    ],
    [
      'the issuer’s iss with a key it never published',
      async () => cluster.mint(serviceAccountClaims('billing', 'api', OUR_AUDIENCE), { key: (await generateKeyPair('RS256')).privateKey }),
      'bad_signature',
    ],
  ])('refuses %s with invalid_client and an audit event saying why', async (_name, mint, reason) => {
    const token = await mint();
    const result = await exchange(token);
    expect([result.status, result.error]).toEqual([401, 'invalid_client']);
    const event = await lastRefusal();
    expect(event).toMatchObject({ ipAddress: CLIENT_IP, details: { method: 'federation', reason, subject: expect.any(String) } });
    // What it claimed, never the token itself.
    expect(JSON.stringify(event)).not.toContain(token.split('.')[2]);
  });

  it('refuses claims no database could store with invalid_client, never a server error', async () => {
    const unsafe = ['a\u0000b', '\ud800'];
    for (const text of unsafe) {
      // An issuer that cannot be looked up; a subject of a trusted issuer that cannot be recorded.
      expect((await exchange(await stranger.mint({ iss: text, sub: 'x', aud: OUR_AUDIENCE }))).status).toBe(401);
      expect((await exchange(await stranger.mint({ iss: text, sub: text, aud: OUR_AUDIENCE }))).status).toBe(401);
      expect((await exchange(await billingToken({ sub: text }))).status).toBe(401);
      expect(await lastRefusal()).toMatchObject({ details: { reason: 'not_bound', issuer: cluster.issuer } });
      expect((await lastRefusal()).details).not.toHaveProperty('subject');
    }
    const longSubject = `${'😀'.repeat(199)}x😀`;
    expect((await exchange(await billingToken({ sub: longSubject }))).status).toBe(401);
    expect((await lastRefusal()).details).toMatchObject({ subject: `${'😀'.repeat(199)}x` });
  });

  it('refuses a platform token presented a second time, with or without a jti', async () => {
    const once = await billingToken();
    expect((await exchange(once)).error).toBe('issued');
    expect((await exchange(once)).error).toBe('invalid_client');
    expect(await lastRefusal()).toMatchObject({ clientId: billing.id, details: { reason: 'replayed' } });
    const withoutJti = await billingToken({ jti: undefined });
    expect((await exchange(withoutJti)).error).toBe('issued');
    expect((await exchange(withoutJti)).error).toBe('invalid_client');
    // A burst of the same token: exactly one request gets through.
    const burst = await billingToken();
    const answers = await Promise.all(Array.from({ length: 20 }, () => exchange(burst)));
    expect(answers.filter((answer) => answer.error === 'issued')).toHaveLength(1);
    expect(answers.filter((answer) => answer.error === 'invalid_client')).toHaveLength(19);
  });

  it('refuses the token where the client was not bound, and asks which client when two are', async () => {
    await cli('federation', 'bind', reports.id, '--issuer', cluster.issuer, '--subject', 'system:serviceaccount:billing:api');
    const token = await billingToken();
    expect((await exchange(token)).error).toBe('invalid_client');
    expect(await lastRefusal()).toMatchObject({ details: { reason: 'ambiguous_binding' } });
    // Refused before it was spent: the same token still works once its client is named.
    expect((await exchange(token, { client_id: reports.id })).error).toBe('issued');
    const listed = (await cli('federation', 'list')) as unknown as Array<{ bindings: Array<{ id: string; client_id: string }> }>;
    const binding = listed[0]!.bindings.find((entry) => entry.client_id === reports.id)!;
    await cli('federation', 'unbind', binding.id);
    expect((await exchange(await billingToken(), { client_id: reports.id })).error).toBe('invalid_client');
  });

  it('authenticates at /introspect and /revoke as well', async () => {
    const issued = await exchange(await billingToken(), { scope: 'introspect' });
    const fields = (token: string) => ({ client_assertion_type: ASSERTION_TYPE, client_assertion: token, token: issued.accessToken! });
    const introspection = await post('/introspect', fields(await billingToken()));
    expect(await introspection.json()).toMatchObject({ active: true, client_id: billing.id });
    expect((await post('/revoke', fields(await billingToken()))).status).toBe(200);
    expect((await post('/revoke', fields(await stranger.mint(serviceAccountClaims('billing', 'api', OUR_AUDIENCE))))).status).toBe(401);
  });

  it('picks up the issuer’s new key, and answers 503 while its keys cannot be fetched', async () => {
    await cluster.rotateKey();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // CLIENT_JWKS_COOLDOWN_SECONDS
    expect((await exchange(await billingToken())).error).toBe('issued');

    await github.rotateKey();
    github.serving = false;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const result = await exchange(await github.mint(githubActionsClaims('acme/shop', 'refs/heads/main', OUR_AUDIENCE)));
    expect([result.status, result.error]).toEqual([503, 'temporarily_unavailable']);
    expect(await lastRefusal()).toMatchObject({ details: { reason: 'issuer_keys_unavailable', issuer: github.issuer } });
    github.serving = true;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await exchange(await github.mint(githubActionsClaims('acme/shop', 'refs/heads/main', OUR_AUDIENCE)))).error).toBe('issued');
  });

  it('refuses to add an issuer whose discovery names another issuer or a jwks_uri it would not fetch', async () => {
    const add = (issuer: string) => cli('federation', 'add', '--issuer', issuer, '--discover', '--audience', OUR_AUDIENCE);
    stranger.advertisedJwksUri = 'http://169.254.169.254/latest/meta-data/';
    await expect(add(stranger.issuer)).rejects.toThrow('names a jwks_uri that is not an https URL');
    stranger.advertisedJwksUri = undefined;
    // The same server under another name: its metadata names 127.0.0.1, not localhost.
    await expect(add(stranger.issuer.replace('127.0.0.1', 'localhost'))).rejects.toThrow('names another issuer');
    // What the fetched document says is never echoed back: it may be anything the server chose.
    stranger.advertisedIssuer = 'https://internal-secret.corp.example/realm';
    const refusal = (await add(stranger.issuer).catch((error: unknown) => error)) as Error;
    expect(refusal.message).toContain('names another issuer');
    expect(refusal.message).not.toContain('internal-secret');
    stranger.advertisedIssuer = undefined;
    const listed = (await cli('federation', 'list')) as unknown as Array<{ issuer: string }>;
    expect(listed.map((entry) => entry.issuer)).toEqual([cluster.issuer, github.issuer]);
  });

  it('stops trusting a removed issuer, and refuses a client that does not allow federation', async () => {
    await cli('federation', 'remove', github.issuer);
    expect((await exchange(await github.mint(githubActionsClaims('acme/shop', 'refs/heads/main', OUR_AUDIENCE)))).error).toBe(
      'invalid_client',
    );
    expect(await lastRefusal()).toMatchObject({ details: { reason: 'unknown_issuer' } });
    const secretClient = await createClient(harness.database.db, {
      name: 'secret',
      grantTypes: ['client_credentials'],
      scopes: [],
      audiences: [API],
    });
    await expect(cli('federation', 'bind', secretClient.id, '--issuer', cluster.issuer, '--subject', 'x')).rejects.toThrow(
      /does not allow federation/,
    );
  });
});

const now = () => Math.floor(Date.now() / 1000);
