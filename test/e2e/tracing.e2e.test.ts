import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth } from '../support/oauth-client.js';
import { hiddenFields, pageBrowser, pkcePair } from '../support/page-browser.js';
import { startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const API = 'https://orders.test';
const CALLBACK = 'https://web.example.com/callback';
const PASSWORD = 'violet cabinet river 7 lantern';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** An OTLP/HTTP receiver (JSON), as a collector would be: every body kept as it came. */
function startReceiver() {
  const bodies: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/v1/traces') bodies.push(body);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  const spans = (): ExportedSpan[] =>
    bodies.flatMap((body) =>
      (JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: ExportedSpan[] }[] }[] }).resourceSpans.flatMap((resource) =>
        resource.scopeSpans.flatMap((scope) => scope.spans),
      ),
    );
  return { server, bodies, spans, url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const attribute = (span: ExportedSpan | undefined, key: string) => {
  const value = span?.attributes.find((entry) => entry.key === key)?.value;
  return value && Object.values(value)[0];
};

/**
 * OpenTelemetry traces from a server process to an OTLP/HTTP receiver: a caller's `traceparent` is
 * followed, the spans of a token and of a sign-in nest under the request's, and no attribute holds
 * a secret, a password or a token.
 */
describe.runIf(adminDatabaseUrl && testRedisUrl)('traces over OTLP', () => {
  const receiver = startReceiver();
  let database: TestDatabase;
  let server: RunningServer;
  let machine: ClientCredentials;
  let web: ClientCredentials;
  const secrets: string[] = [PASSWORD];

  beforeAll(async () => {
    database = await createTestDatabase();
    machine = await seedClient(database.env, ['--name', 'machine', '--grants', 'client_credentials', '--audiences', API]);
    web = await seedClient(database.env, [
      ...['--name', 'web', '--grants', 'authorization_code,refresh_token', '--first-party'],
      ...['--scopes', 'openid profile orders:read', '--audiences', API, '--redirect-uris', CALLBACK],
    ]);
    secrets.push(machine.client_secret, web.client_secret);
    await seedUser(database.env, ['--username', 'alice', '--email', 'alice@example.com'], PASSWORD);
    server = await startServer({ ...database.env, ISSUER, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url(), OTEL_BSP_SCHEDULE_DELAY: '50' });
  });

  afterAll(async () => {
    await server?.stop();
    receiver.server.close();
    await database?.drop();
  });

  const traceOf = async (traceId: string, until: (spans: ExportedSpan[]) => boolean) => {
    await expect.poll(() => until(receiver.spans().filter((span) => span.traceId === traceId)), { timeout: 5_000 }).toBe(true);
    return receiver.spans().filter((span) => span.traceId === traceId);
  };
  const childrenOf = (spans: ExportedSpan[], parent: ExportedSpan | undefined) =>
    spans.filter((span) => span.parentSpanId === parent?.spanId);

  it('nests a client_credentials token under the caller’s trace: the request, the grant, the signature', async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const response = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuth(machine),
        traceparent: `00-${traceId}-${callerSpanId}-01`,
      },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(200);
    secrets.push(((await response.json()) as { access_token: string }).access_token);

    const spans = await traceOf(traceId, (found) => found.some((span) => span.name === 'jws sign'));
    const request = spans.find((span) => span.name === 'POST /token');
    expect(request).toMatchObject({ parentSpanId: callerSpanId, kind: 2 }); // SERVER
    expect(attribute(request, 'http.response.status_code')).toBe(200);
    const grant = childrenOf(spans, request).find((span) => span.name === 'token grant');
    expect(attribute(grant, 'oauth.grant_type')).toBe('client_credentials');
    expect(attribute(grant, 'oauth.client_id')).toBe(machine.client_id);
    const signature = childrenOf(spans, grant).find((span) => span.name === 'jws sign');
    expect(attribute(signature, 'jws.alg')).toBe('RS256');
    // The request's log line names its trace.
    expect(server.output()).toMatch(new RegExp(`"trace_id":"${traceId}"[^\n]*"path":"/token"`));
  });

  it('shows where a sign-in went: argon2, the database and Redis under the login request, then the code exchange', async () => {
    const browser = pageBrowser((path, init) => fetch(`${server.url}${path}`, { ...init, redirect: 'manual' }));
    const pkce = pkcePair();
    const authorize = new URLSearchParams({
      response_type: 'code',
      client_id: web.client_id,
      redirect_uri: CALLBACK,
      scope: 'openid orders:read',
      state: 'state-1',
      nonce: 'nonce-1',
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
    });
    const started = await browser.get(`/authorize?${authorize}`);
    expect(started.status).toBe(303);
    const loginPath = new URL(started.headers.get('location')!, ISSUER);
    const page = await browser.get(loginPath.pathname + loginPath.search);
    const loginTrace = randomBytes(16).toString('hex');
    const answer = await fetch(`${server.url}/authorize/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        traceparent: `00-${loginTrace}-${randomBytes(8).toString('hex')}-01`,
      },
      body: new URLSearchParams({ ...hiddenFields(await page.text()), username: 'alice', password: PASSWORD }),
    });
    expect(answer.status).toBe(303);
    const code = new URL(answer.headers.get('location')!).searchParams.get('code')!;
    secrets.push(code);

    const login = await traceOf(loginTrace, (found) => found.some((span) => span.name === 'POST /authorize/login'));
    const request = login.find((span) => span.name === 'POST /authorize/login')!;
    const below = (parent: ExportedSpan): ExportedSpan[] => childrenOf(login, parent).flatMap((child) => [child, ...below(child)]);
    const names = below(request).map((span) => span.name);
    expect(names).toContain('argon2id verify');
    expect(names.some((name) => name.startsWith('db '))).toBe(true);
    expect(names.some((name) => name.startsWith('redis '))).toBe(true);
    const statement = below(request).find((span) => span.name.startsWith('db '));
    expect(attribute(statement, 'db.system.name')).toBe('postgresql');

    const exchange = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(web) },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: pkce.verifier, redirect_uri: CALLBACK }),
    });
    expect(exchange.status).toBe(200);
    const tokens = (await exchange.json()) as Record<string, string>;
    secrets.push(tokens.access_token!, tokens.refresh_token!, tokens.id_token!);
    await expect
      .poll(() => receiver.spans().filter((span) => span.name === 'jws sign' && span.traceId !== loginTrace).length, { timeout: 5_000 })
      .toBeGreaterThanOrEqual(4); // one from the first test, three here (access, refresh, id)

    // Nothing secret went out: not in an attribute, a name, anywhere in what the receiver got.
    const everything = receiver.bodies.join('\n');
    for (const secret of secrets) expect(everything.includes(secret), 'a secret in the exported spans').toBe(false);
  });
});
