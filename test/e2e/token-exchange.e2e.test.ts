import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, clientToken, signIn } from '../support/api-client.js';
import { basicAuth, post } from '../support/oauth-client.js';
import { startHopService, startServer, type ClientCredentials, type RunningServer } from '../support/processes.js';
import { seedClient, seedUser } from '../support/seed.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl, type TestDatabase } from '../support/test-database.js';

const ISSUER = 'http://issuer.test';
const GATEWAY = 'https://gateway.internal';
const ORDERS = 'https://orders.internal';
const BILLING = 'https://billing.internal';
const PASSWORD = 'a long shared passphrase';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * A user's request crossing three services, each its own process on @token-issuer/verifier, and an
 * automated system calling one of them with an API key: the chain is visible at the last hop, and
 * revoking the session or the key reaches it within 2 s through the pushed denylist (the services
 * keep their JWKS copy for a minute, so a refusal that soon is the revocation's doing). Real
 * PostgreSQL and Redis, as CI has them.
 */
describe.runIf(adminDatabaseUrl && testRedisUrl)('gateway -> orders -> billing, and an API key at billing', () => {
  let database: TestDatabase;
  let issuer: RunningServer;
  let services: RunningServer[] = [];
  let gateway: RunningServer;
  let billing: RunningServer;
  let web: ClientCredentials;
  let gatewayClient: ClientCredentials;
  let ordersClient: ClientCredentials;
  let robot: ClientCredentials;
  let ops: ClientCredentials;
  let userId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const env = database.env;
    const exchange = ['--grants', `${TOKEN_EXCHANGE},client_credentials`, '--scopes', 'orders:read billing:read'];
    web = await seedClient(env, [
      '--name',
      'web',
      '--grants',
      'password,refresh_token',
      '--first-party',
      '--scopes',
      'orders:read billing:read',
      '--audiences',
      GATEWAY,
    ]);
    gatewayClient = await seedClient(env, ['--name', 'gateway', ...exchange, '--audiences', ORDERS]);
    // Orders may pass on only what billing needs: the chain narrows at each hop.
    ordersClient = await seedClient(env, ['--name', 'orders', ...exchange.slice(0, 3), 'billing:read', '--audiences', BILLING]);
    robot = await seedClient(env, [
      '--name',
      'nightly',
      '--grants',
      'client_credentials',
      '--scopes',
      'billing:read',
      '--audiences',
      BILLING,
    ]);
    ops = await seedClient(env, ['--name', 'ops', '--grants', 'client_credentials', '--scopes', 'admin', '--audiences', ISSUER]);
    userId = (await seedUser(env, ['--username', 'erin', '--email', 'erin@example.com'], PASSWORD)).id;
    issuer = await startServer({ ...env, ISSUER });

    const common = { ISSUER, ISSUER_URL: issuer.url, REDIS_URL: env.REDIS_URL!, REDIS_KEY_PREFIX: env.REDIS_KEY_PREFIX! };
    billing = await startHopService({ ...common, NAME: 'billing', AUDIENCE: BILLING });
    const orders = await startHopService({
      ...common,
      NAME: 'orders',
      AUDIENCE: ORDERS,
      REQUIRE_ACTOR: gatewayClient.client_id,
      CLIENT_ID: ordersClient.client_id,
      CLIENT_SECRET: ordersClient.client_secret,
      NEXT_URL: billing.url,
      NEXT_AUDIENCE: BILLING,
    });
    gateway = await startHopService({
      ...common,
      NAME: 'gateway',
      AUDIENCE: GATEWAY,
      CLIENT_ID: gatewayClient.client_id,
      CLIENT_SECRET: gatewayClient.client_secret,
      NEXT_URL: orders.url,
      NEXT_AUDIENCE: ORDERS,
    });
    services = [billing, orders, gateway];
  });

  afterAll(async () => {
    await Promise.all([issuer?.stop(), ...services.map((service) => service.stop())]);
    await database?.drop();
  });

  const userTokens = async () => {
    const result = await signIn(issuer.url, web, 'erin', PASSWORD);
    expect(result.status).toBe(200);
    return result.body as { access_token: string; refresh_token: string };
  };
  /** What a service does before calling the next one: its client exchanges the token it holds. */
  const exchanged = async (client: ClientCredentials, token: string, audience: string) => {
    const result = await post(
      `${issuer.url}/token`,
      { grant_type: TOKEN_EXCHANGE, subject_token: token, subject_token_type: ACCESS_TOKEN_TYPE, audience },
      { headers: { Authorization: basicAuth(client) } },
    );
    expect(result.status).toBe(200);
    return result.body.access_token as string;
  };
  const atBilling = async (headers: Record<string, string>) => (await fetch(`${billing.url}/work`, { headers })).status;
  const admin = async (method: string, path: string, json?: unknown) =>
    callApi(issuer.url, method, path, {
      token: (await clientToken(issuer.url, ops, 'admin')).body.access_token as string,
      ...(json === undefined ? {} : { json }),
    });

  it('billing sees the user as the subject and orders, then gateway, as the actors', async () => {
    const { access_token } = await userTokens();
    const response = await fetch(`${gateway.url}/work`, { headers: { Authorization: `Bearer ${access_token}` } });
    const body = (await response.json()) as { next: { body: { next: { body: Record<string, unknown> } } } };
    expect(response.status).toBe(200);
    expect(body.next.body.next.body).toEqual({
      service: 'billing',
      sub: userId,
      actors: [ordersClient.client_id, gatewayClient.client_id],
      scope: ['billing:read'],
    });
  });

  it('orders refuses a token that did not come through the gateway', async () => {
    const { access_token } = await userTokens();
    const direct = await exchanged(ordersClient, access_token, BILLING);
    // Billing takes any chain; orders asks for the gateway as its caller.
    expect(await atBilling({ Authorization: `Bearer ${direct}` })).toBe(200);
    const ordersUrl = services[1]!.url;
    const skipped = await exchanged(gatewayClient, access_token, ORDERS);
    expect((await fetch(`${ordersUrl}/work`, { headers: { Authorization: `Bearer ${skipped}` } })).status).toBe(200);
    // The gateway's own token is for orders too, but it acts for no one.
    const own = (await clientToken(issuer.url, gatewayClient)).body.access_token as string;
    expect((await fetch(`${ordersUrl}/work`, { headers: { Authorization: `Bearer ${own}` } })).status).toBe(403);
  });

  it('ending the user’s session makes billing refuse the chain’s tokens within 2 s', async () => {
    const tokens = await userTokens();
    const toOrders = await exchanged(gatewayClient, tokens.access_token, ORDERS);
    const toBilling = await exchanged(ordersClient, toOrders, BILLING);
    expect(await atBilling({ Authorization: `Bearer ${toBilling}` })).toBe(200);
    // RFC 7009: revoking the refresh token ends the session it belongs to.
    const revoked = await post(`${issuer.url}/revoke`, { token: tokens.refresh_token }, { headers: { Authorization: basicAuth(web) } });
    expect(revoked.status).toBe(200);
    await expect.poll(() => atBilling({ Authorization: `Bearer ${toBilling}` }), { timeout: 2_000, interval: 50 }).toBe(401);
  });

  it('an API key works at billing with X-API-Key and, revoked, is refused there within 2 s', async () => {
    const created = await admin('POST', '/admin/api-keys', {
      client_id: robot.client_id,
      name: 'nightly export',
      scopes: ['billing:read'],
      audiences: [BILLING],
    });
    expect(created.status).toBe(201);
    const key = { 'X-API-Key': String(created.body.key) };
    const calls = await Promise.all(Array.from({ length: 5 }, () => fetch(`${billing.url}/work`, { headers: key })));
    expect(calls.map((call) => call.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await calls[0]!.json()).toMatchObject({ sub: robot.client_id, actors: [], scope: ['billing:read'] });
    expect(await atBilling({ Authorization: `Bearer ${String(created.body.key)}` })).toBe(200);

    expect((await admin('DELETE', `/admin/api-keys/${String(created.body.id)}`)).status).toBe(204);
    await expect.poll(() => atBilling(key), { timeout: 2_000, interval: 50 }).toBe(401);
  });

  it('a mistyped key is refused at billing', async () => {
    expect(await atBilling({ 'X-API-Key': `tik_${'0'.repeat(49)}` })).toBe(401);
  });
});
