import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type VerificationError, type Verifier } from '@token-issuer/verifier';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { TOKEN_EXCHANGE_GRANT } from '../src/grants/grant-types.js';
import { revokeSessions } from '../src/revocation/ending-sessions.js';
import { issuedAfter, mintAccessToken, type TokenSigner } from '../src/tokens/access-token.js';
import { registerUser } from '../src/users/accounts.js';
import { createInProcessApp, createInProcessAppOn, passwordSignIn, type InProcessApp } from './support/in-process-app.js';

/**
 * Token exchange (RFC 8693) in-process: a user's token handed down gateway -> orders -> billing with
 * the chain in `act`, every refusal the RFC names, and revocation reaching down the chain. On
 * PostgreSQL when the suite has it. The same chain across real processes is in
 * e2e/token-exchange.e2e.test.ts.
 */
const ISSUER = 'http://issuer.test';
const GATEWAY = 'https://gateway.internal';
const ORDERS = 'https://orders.internal';
const BILLING = 'https://billing.internal';
const PASSWORD = 'a long and quiet passphrase';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

let harness: InProcessApp;
let web: CreatedClient;
let gateway: CreatedClient;
let orders: CreatedClient;
let impersonator: CreatedClient;
let bystander: CreatedClient;
let users = 0;
/** How far the issuer's clock is behind the real one, in seconds (tokens issued in the past). */
let clockBehind = 0;

beforeAll(async () => {
  const now = () => new Date(Date.now() - clockBehind * 1000);
  harness = (await createInProcessAppOn(true, { issuer: ISSUER, now })) ?? (await createInProcessApp({ issuer: ISSUER, now }));
  const db = harness.database.db;
  const exchange = { grantTypes: [TOKEN_EXCHANGE_GRANT, 'client_credentials'] };
  web = await createClient(db, {
    name: 'web',
    grantTypes: ['password', 'refresh_token'],
    firstParty: true,
    scopes: ['openid', 'orders:read', 'orders:write', 'billing:read', 'admin'],
    audiences: [GATEWAY],
  });
  gateway = await createClient(db, {
    name: 'gateway',
    ...exchange,
    scopes: ['orders:read', 'orders:write', 'billing:read'],
    audiences: [ORDERS, BILLING],
  });
  orders = await createClient(db, { name: 'orders', ...exchange, scopes: ['orders:read', 'billing:read'], audiences: [BILLING] });
  impersonator = await createClient(db, { name: 'batch', ...exchange, impersonation: true, scopes: ['orders:read'], audiences: [ORDERS] });
  bystander = await createClient(db, {
    name: 'bystander',
    grantTypes: ['client_credentials'],
    scopes: ['orders:read'],
    audiences: [ORDERS],
  });
});
afterAll(() => harness?.close());

async function newUser(roles?: string[]) {
  users += 1;
  const username = `exchanger-${users}`;
  const user = await registerUser(harness.accounts, { username, email: `${username}@example.com`, ...(roles ? { roles } : {}) }, PASSWORD);
  return { id: user.id, username };
}

/** A user's tokens from the web app, for the gateway. */
async function signIn(username: string, scope = 'openid orders:read orders:write billing:read') {
  const response = await passwordSignIn(harness, web, { username, password: PASSWORD, scope });
  expect(response.status).toBe(200);
  return (await response.json()) as { access_token: string; refresh_token: string; expires_in: number };
}

const tokenRequest = (fields: Record<string, string | string[]>, client?: CreatedClient) => {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const one of [value].flat()) body.append(name, one);
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (client) headers.Authorization = `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`;
  return harness.app.request('/token', { method: 'POST', headers, body });
};

/** `client` exchanges `subjectToken` for a token for `audience`. */
function exchange(client: CreatedClient, subjectToken: string, fields: Record<string, string | string[]> = {}) {
  return tokenRequest(
    { grant_type: TOKEN_EXCHANGE_GRANT, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, ...fields },
    client,
  );
}

async function exchanged(client: CreatedClient, subjectToken: string, audience: string, fields: Record<string, string> = {}) {
  const response = await exchange(client, subjectToken, { audience, ...fields });
  const body = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body as { access_token: string; issued_token_type: string; token_type: string; expires_in: number; scope?: string };
}

async function refusal(response: Response | Promise<Response>) {
  const answer = await response;
  return { status: answer.status, ...((await answer.json()) as { error: string; error_description: string }) };
}

/** A downstream service's verifier: the issuer's keys and its denylist, as the library is used. */
function verifierFor(audience: string): Verifier {
  return createVerifier({ issuer: ISSUER, audience, keySet: () => harness.keyRing.verificationKeys(), revocations: harness.denylist });
}

/** Signs an access token with the issuer's key, for claims no endpoint hands out (a `may_act`). */
function signer(): TokenSigner {
  return {
    issuer: ISSUER,
    keyRing: harness.keyRing,
    accessTokenTtlSeconds: 900,
    now: () => new Date(),
    issuedAt: () => issuedAfter(new Date(), undefined),
  };
}

describe('a delegation chain', () => {
  it('carries the user to billing with every actor named, nearest first, and nothing wider', async () => {
    const { id, username } = await newUser();
    const user = await signIn(username);

    const toOrders = await exchanged(gateway, user.access_token, ORDERS);
    expect(toOrders).toMatchObject({
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      scope: 'orders:read orders:write billing:read',
    });
    const atOrders = await verifierFor(ORDERS).verify(toOrders.access_token);
    expect(atOrders).toMatchObject({ sub: id, clientId: gateway.id, actors: [gateway.id] });

    // Orders may hold less than the user's token has: it gets its own share unless it asks for less.
    const toBilling = await exchanged(orders, toOrders.access_token, BILLING, { scope: 'billing:read' });
    const atBilling = await verifierFor(BILLING).verify(toBilling.access_token);
    expect(atBilling).toMatchObject({ sub: id, clientId: orders.id, scope: ['billing:read'], actors: [orders.id, gateway.id] });
    expect(atBilling.claims.act).toEqual({ sub: orders.id, act: { sub: gateway.id } });
    // The session and how the user signed in travel with it; the original token's audience does not.
    const original = decodeJwt(user.access_token);
    expect(atBilling.claims).toMatchObject({ sid: original.sid, auth_time: original.auth_time, amr: original.amr, aud: BILLING });
    // Never a longer life than the subject had left.
    expect(atBilling.claims.exp).toBeLessThanOrEqual(original.exp!);
    await expect(verifierFor(ORDERS).verify(toBilling.access_token)).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('defaults to what both the subject and the client hold, and refuses a wider scope', async () => {
    const { username } = await newUser();
    const user = await signIn(username, 'orders:read billing:read');
    const toBilling = await exchanged(orders, user.access_token, BILLING);
    expect(toBilling.scope).toBe('orders:read billing:read');
    expect(await refusal(exchange(orders, user.access_token, { audience: BILLING, scope: 'orders:write' }))).toMatchObject({
      status: 400,
      error: 'invalid_scope',
    });
    // The subject has orders:write nowhere: the client's registration does not add it.
    expect(await refusal(exchange(gateway, user.access_token, { audience: ORDERS, scope: 'orders:read orders:write' }))).toMatchObject({
      error: 'invalid_scope',
    });
  });

  it('refuses an audience the client is not registered for, and more than one target', async () => {
    const { username } = await newUser();
    const user = await signIn(username);
    expect(await refusal(exchange(orders, user.access_token, { audience: ORDERS }))).toMatchObject({
      status: 400,
      error: 'invalid_target',
    });
    expect(await refusal(exchange(orders, user.access_token, { resource: 'https://elsewhere.example' }))).toMatchObject({
      error: 'invalid_target',
    });
    expect(await refusal(exchange(gateway, user.access_token, { audience: [ORDERS, BILLING] }))).toMatchObject({ error: 'invalid_target' });
    expect(await refusal(exchange(gateway, user.access_token, { audience: ORDERS, resource: BILLING }))).toMatchObject({
      error: 'invalid_target',
    });
  });

  it('exchanges only a live access token of this issuer', async () => {
    const { username } = await newUser();
    const user = await signIn(username);
    const asRefresh = await refusal(exchange(gateway, user.refresh_token, { audience: ORDERS }));
    expect(asRefresh).toMatchObject({ status: 400, error: 'invalid_request' });
    expect(asRefresh.error_description).toContain('refresh token');
    for (const garbage of ['', 'x', 'a.b.c', user.access_token.slice(0, -4) + 'AAAA', 'tik_' + 'A'.repeat(49)]) {
      expect((await refusal(exchange(gateway, garbage, { audience: ORDERS }))).error).toBe('invalid_request');
    }
    const idToken = (
      (await (await passwordSignIn(harness, web, { username, password: PASSWORD, scope: 'openid' })).json()) as { id_token: string }
    ).id_token;
    expect(await refusal(exchange(gateway, idToken, { audience: ORDERS }))).toMatchObject({ error: 'invalid_request' });
    expect(
      await refusal(
        exchange(gateway, user.access_token, { audience: ORDERS, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }),
      ),
    ).toMatchObject({
      error: 'invalid_request',
    });
    expect(
      await refusal(
        exchange(gateway, user.access_token, { audience: ORDERS, requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }),
      ),
    ).toMatchObject({
      error: 'invalid_request',
    });
    expect(
      await refusal(tokenRequest({ grant_type: TOKEN_EXCHANGE_GRANT, subject_token: user.access_token, audience: ORDERS }, gateway)),
    ).toMatchObject({
      error: 'invalid_request',
    });
    expect(
      await refusal(
        tokenRequest(
          {
            grant_type: TOKEN_EXCHANGE_GRANT,
            subject_token: [user.access_token, user.access_token],
            subject_token_type: ACCESS_TOKEN_TYPE,
            audience: ORDERS,
          },
          gateway,
        ),
      ),
    ).toMatchObject({
      error: 'invalid_request',
    });
  });

  it('refuses an expired or revoked subject', async () => {
    const { id, username } = await newUser();
    clockBehind = 2 * 900;
    const old = await signIn(username);
    clockBehind = 0;
    expect(await refusal(exchange(gateway, old.access_token, { audience: ORDERS }))).toMatchObject({
      status: 400,
      error: 'invalid_request',
    });

    const user = await signIn(username);
    await revokeSessions(harness.revocation, { userId: id }, { type: 'user_sessions_revoked', userId: id, reason: 'test' });
    expect(await refusal(exchange(gateway, user.access_token, { audience: ORDERS }))).toMatchObject({ error: 'invalid_request' });
  });

  it('is refused to a client not registered for it, and to an unauthenticated one', async () => {
    const { username } = await newUser();
    const user = await signIn(username);
    expect(await refusal(exchange(bystander, user.access_token, { audience: ORDERS }))).toMatchObject({ error: 'unauthorized_client' });
    const anonymous = await tokenRequest({
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: user.access_token,
      subject_token_type: ACCESS_TOKEN_TYPE,
    });
    expect(anonymous.status).toBe(401);
  });

  it('stops at TOKEN_EXCHANGE_MAX_CHAIN actors', async () => {
    const short = await createInProcessApp({ issuer: ISSUER, env: { TOKEN_EXCHANGE_MAX_CHAIN: '1' }, database: undefined });
    try {
      const db = short.database.db;
      const grants = { grantTypes: [TOKEN_EXCHANGE_GRANT, 'password'], firstParty: true, scopes: ['orders:read'] };
      const first = await createClient(db, { name: 'first', ...grants, audiences: [ORDERS] });
      const second = await createClient(db, { name: 'second', ...grants, audiences: [BILLING] });
      await registerUser(short.accounts, { username: 'deep', email: 'deep@example.com' }, PASSWORD);
      const start = (await (await passwordSignIn(short, first, { username: 'deep', password: PASSWORD })).json()) as {
        access_token: string;
      };
      const post = (client: CreatedClient, token: string, audience: string) =>
        short.app.request('/token', {
          method: 'POST',
          headers: {
            'Content-Type': 'application/x-www-form-urlencoded',
            Authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
          },
          body: new URLSearchParams({
            grant_type: TOKEN_EXCHANGE_GRANT,
            subject_token: token,
            subject_token_type: ACCESS_TOKEN_TYPE,
            audience,
          }),
        });
      const hop = await post(first, start.access_token, ORDERS);
      expect(hop.status).toBe(200);
      const tooDeep = await refusal(post(second, ((await hop.json()) as { access_token: string }).access_token, BILLING));
      expect(tooDeep).toMatchObject({ status: 400, error: 'invalid_request' });
      expect(tooDeep.error_description).toContain('TOKEN_EXCHANGE_MAX_CHAIN');
    } finally {
      await short.close();
    }
  });

  it('lets only the party named in may_act act for the subject', async () => {
    const { id } = await newUser();
    const claims = { subject: id, clientId: web.id, audience: [GATEWAY], scope: ['orders:read'] };
    const forOrders = await mintAccessToken(signer(), { ...claims, extra: { may_act: { sub: orders.id } } });
    expect(await refusal(exchange(gateway, forOrders.token, { audience: ORDERS }))).toMatchObject({
      status: 400,
      error: 'invalid_request',
    });
    await exchanged(orders, forOrders.token, BILLING);
  });

  it('names the actor of an actor_token issued to the client, and no one else', async () => {
    const { username } = await newUser();
    const user = await signIn(username);
    const own = (await (await tokenRequest({ grant_type: 'client_credentials' }, gateway)).json()) as { access_token: string };
    const withActor = await exchanged(gateway, user.access_token, ORDERS, {
      actor_token: own.access_token,
      actor_token_type: ACCESS_TOKEN_TYPE,
    });
    expect(decodeJwt(withActor.access_token).act).toEqual({ sub: gateway.id });

    const someoneElses = (await (await tokenRequest({ grant_type: 'client_credentials' }, bystander)).json()) as { access_token: string };
    expect(
      await refusal(
        exchange(gateway, user.access_token, {
          audience: ORDERS,
          actor_token: someoneElses.access_token,
          actor_token_type: ACCESS_TOKEN_TYPE,
        }),
      ),
    ).toMatchObject({
      error: 'invalid_request',
    });
    expect(await refusal(exchange(gateway, user.access_token, { audience: ORDERS, actor_token: own.access_token }))).toMatchObject({
      error: 'invalid_request',
    });
  });

  it('hands a machine client’s own token on across two hops, its subject still the client', async () => {
    const own = (await (await tokenRequest({ grant_type: 'client_credentials' }, gateway)).json()) as { access_token: string };
    const toBilling = await exchanged(orders, own.access_token, BILLING);
    const back = await exchanged(gateway, toBilling.access_token, ORDERS);
    expect(await verifierFor(ORDERS).verify(back.access_token)).toMatchObject({ sub: gateway.id, actors: [gateway.id, orders.id] });
  });

  it('adds no actor for a client registered to impersonate', async () => {
    const { id, username } = await newUser();
    const user = await signIn(username);
    const impersonated = await exchanged(impersonator, user.access_token, ORDERS);
    const principal = await verifierFor(ORDERS).verify(impersonated.access_token);
    expect(principal).toMatchObject({ sub: id, clientId: impersonator.id, actors: [] });
    expect(principal.claims.act).toBeUndefined();
  });

  it('carries the user’s roles as they are now: a demoted admin’s exchange drops the admin scope', async () => {
    const { username } = await newUser(['user', 'admin']);
    const user = await signIn(username, 'orders:read admin');
    expect(decodeJwt(user.access_token).scope).toBe('orders:read admin');
    const admins = await createClient(harness.database.db, {
      name: 'admin-hop',
      grantTypes: [TOKEN_EXCHANGE_GRANT],
      scopes: ['orders:read', 'admin'],
      audiences: [ORDERS],
    });
    const hop = await exchanged(admins, user.access_token, ORDERS);
    expect(hop.scope).toBe('orders:read admin');
  });
});

describe('revocation down the chain', () => {
  async function chain() {
    const { id, username } = await newUser();
    const user = await signIn(username);
    const toOrders = await exchanged(gateway, user.access_token, ORDERS);
    const toBilling = await exchanged(orders, toOrders.access_token, BILLING);
    return { id, user, toOrders, toBilling };
  }
  const refusedAtBilling = (token: string) =>
    verifierFor(BILLING)
      .verify(token)
      .then(
        () => undefined,
        (error: VerificationError) => error.reason,
      );

  it('ending the user’s session refuses every token made from it', async () => {
    const { id, user, toBilling } = await chain();
    expect(await refusedAtBilling(toBilling.access_token)).toBeUndefined();
    const sid = decodeJwt(user.access_token).sid as string;
    await revokeSessions(harness.revocation, { familyIds: [sid], userId: id }, { type: 'session_revoked', userId: id, reason: 'logout' });
    expect(await refusedAtBilling(toBilling.access_token)).toBe('revoked_session');
  });

  it('a cut-off of the user refuses the chain', async () => {
    const { id, toBilling } = await chain();
    await revokeSessions(harness.revocation, { userId: id }, { type: 'user_sessions_revoked', userId: id, reason: 'test' });
    expect(await refusedAtBilling(toBilling.access_token)).toBe('revoked_subject');
  });
  it('(last: it cuts the gateway off) a cut-off of a client that acted refuses what was exchanged after it down the chain', async () => {
    const { toBilling } = await chain();
    await revokeSessions(
      harness.revocation,
      { clientId: gateway.id },
      { type: 'tokens_revoked', clientId: gateway.id, reason: 'incident' },
    );
    expect(await refusedAtBilling(toBilling.access_token)).toBe('revoked_client');
  });
});
