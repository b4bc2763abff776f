import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACR_MULTI_FACTOR,
  ACR_SINGLE_FACTOR,
  createVerifier,
  denylistChannel,
  encodeApiKey,
  denylistKey,
  DENYLIST_COMPLETE_MEMBER,
  requireAuth,
  type AuthEnv,
  type Verifier,
} from '@token-issuer/verifier';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';
import { testRedisUrl } from './support/test-database.js';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://items.test';

let privateKey: CryptoKey;
let publicJwk: JWK;

const now = () => Math.floor(Date.now() / 1000);
/** A token of the issuer; `claims` override any default, `exp` and `aud` included. */
function token(claims: Partial<JWTPayload> = {}) {
  const defaults = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    iat: now(),
    exp: now() + 600,
    jti: randomBytes(8).toString('hex'),
    client_id: 'app',
    scope: 'items:read',
    roles: ['user'],
  };
  return new SignJWT({ ...defaults, ...claims }).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' }).sign(privateKey);
}

function appWith(verifier: Verifier) {
  const app = new Hono<AuthEnv>();
  app.get('/items', requireAuth({ verifier, scopes: ['items:read'], realm: 'items' }), (c) => c.json({ sub: c.get('principal').sub }));
  app.get('/admin', requireAuth({ verifier, roles: ['admin'] }), (c) => c.json({ ok: true }));
  app.get('/payouts', requireAuth({ verifier, requireMfa: true, maxAge: 600 }), (c) => c.json({ ok: true }));
  app.get('/level', requireAuth({ verifier, acr: ['urn:example:gold'] }), (c) => c.json({ ok: true }));
  return app;
}

const call = (app: Hono<AuthEnv>, path: string, authorization?: string) =>
  app.request(path, { headers: authorization === undefined ? {} : { Authorization: authorization } });

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
});

describe('requireAuth (RFC 6750 §3)', () => {
  let app: Hono<AuthEnv>;
  beforeAll(() => {
    app = appWith(createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [publicJwk] } }));
  });

  it('lets a valid token through with the principal on the context', async () => {
    const response = await call(app, '/items', `Bearer ${await token()}`);
    expect([response.status, await response.json()]).toEqual([200, { sub: 'user-1' }]);
  });

  it('answers no token with 401 and a bare challenge', async () => {
    const response = await call(app, '/items');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="items"');
  });

  it('answers a malformed Authorization header with 400 invalid_request', async () => {
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer two tokens', 'bearer "quoted"']) {
      const response = await call(app, '/items', header);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
    }
  });

  it('answers a bad or expired token with 401 invalid_token', async () => {
    for (const bad of ['garbage', await token({ exp: now() - 300 }), await token({ aud: 'https://other.test' })]) {
      const response = await call(app, '/items', `Bearer ${bad}`);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="items", error="invalid_token"/);
    }
  });

  it('answers a missing scope with 403 insufficient_scope naming it', async () => {
    const response = await call(app, '/items', `Bearer ${await token({ scope: 'other' })}`);
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="items", error="insufficient_scope", scope="items:read"');
  });

  it('answers a missing role with 403, and lets the role through', async () => {
    expect((await call(app, '/admin', `Bearer ${await token()}`)).status).toBe(403);
    expect((await call(app, '/admin', `Bearer ${await token({ roles: ['admin'] })}`)).status).toBe(200);
  });

  describe('the sign-in behind the token (RFC 9470)', () => {
    const refusal = async (response: Response) => [response.status, ((await response.json()) as { error: string }).error];

    it("asks a password-only token for a second factor, naming the issuer's multi-factor acr and the max age", async () => {
      const response = await call(app, '/payouts', `Bearer ${await token({ amr: ['pwd'], acr: ACR_SINGLE_FACTOR, auth_time: now() })}`);
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer realm="api", error="insufficient_user_authentication", error_description="the user must sign in with a second factor", acr_values="${ACR_MULTI_FACTOR}", max_age=600`,
      );
      expect(await refusal(response)).toEqual([401, 'insufficient_user_authentication']);
    });

    it('asks for a fresh sign-in when the multi-factor one is older than maxAge, and lets a recent one through', async () => {
      const old = await token({ amr: ['pwd', 'otp', 'mfa'], acr: ACR_MULTI_FACTOR, auth_time: now() - 601 });
      const stale = await call(app, '/payouts', `Bearer ${old}`);
      expect(stale.headers.get('www-authenticate')).toMatch(/error="insufficient_user_authentication".*, max_age=600$/);
      expect(stale.headers.get('www-authenticate')).not.toContain('acr_values');
      expect(await refusal(stale)).toEqual([401, 'insufficient_user_authentication']);
      const fresh = await token({ amr: ['pwd', 'otp', 'mfa'], acr: ACR_MULTI_FACTOR, auth_time: now() - 30 });
      expect((await call(app, '/payouts', `Bearer ${fresh}`)).status).toBe(200);
    });

    it('refuses a token without amr (a machine client) where a second factor is required', async () => {
      expect(await refusal(await call(app, '/payouts', `Bearer ${await token({ auth_time: now() })}`))).toEqual([
        401,
        'insufficient_user_authentication',
      ]);
    });

    it('checks acr against the listed values', async () => {
      const other = await call(app, '/level', `Bearer ${await token({ acr: ACR_MULTI_FACTOR })}`);
      expect(other.headers.get('www-authenticate')).toContain('acr_values="urn:example:gold"');
      expect(await refusal(other)).toEqual([401, 'insufficient_user_authentication']);
      expect((await call(app, '/level', `Bearer ${await token({ acr: 'urn:example:gold' })}`)).status).toBe(200);
    });
  });
});

describe('requireAuth with delegation (RFC 8693 §4.1) and API keys', () => {
  const refusal = async (response: Response) => [response.status, ((await response.json()) as { error: string }).error];
  let app: Hono<AuthEnv>;
  let keyed: Hono<AuthEnv>;
  beforeAll(() => {
    const routes = (verifier: Verifier) => {
      const service = new Hono<AuthEnv>();
      service.get('/delegated', requireAuth({ verifier, requireActor: true }), (c) => c.json({ actors: c.get('principal').actors }));
      service.get('/from-gateway', requireAuth({ verifier, requireActor: ['gateway'] }), (c) => c.json({ ok: true }));
      return service;
    };
    app = routes(createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [publicJwk] } }));
    // Port 1 on the loopback answers nothing: a key that gets as far as the issuer finds it down.
    keyed = routes(
      createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        jwks: { keys: [publicJwk] },
        apiKeys: { tokenEndpoint: 'http://127.0.0.1:1/token' },
      }),
    );
  });
  const chain = { act: { sub: 'orders', act: { sub: 'gateway' } } };

  it('shows the chain nearest first, and requires an actor where asked', async () => {
    const delegated = await call(app, '/delegated', `Bearer ${await token(chain)}`);
    expect([delegated.status, await delegated.json()]).toEqual([200, { actors: ['orders', 'gateway'] }]);
    expect(await refusal(await call(app, '/delegated', `Bearer ${await token()}`))).toEqual([403, 'insufficient_delegation']);
  });

  it('requires the nearest actor to be one of those listed', async () => {
    expect(await refusal(await call(app, '/from-gateway', `Bearer ${await token(chain)}`))).toEqual([403, 'insufficient_delegation']);
    expect((await call(app, '/from-gateway', `Bearer ${await token({ act: { sub: 'gateway' } })}`)).status).toBe(200);
  });

  it('where keys are not accepted, ignores X-API-Key and answers a key as a bearer token with 401, saying so', async () => {
    const key = encodeApiKey(randomBytes(32));
    const ignored = await app.request('/delegated', { headers: { 'X-API-Key': key } });
    expect([ignored.status, ((await ignored.json()) as { error_description: string }).error_description]).toEqual([
      401,
      'a bearer access token is required',
    ]);
    // A token beside a header some gateway adds still works.
    const beside = await app.request('/delegated', { headers: { 'X-API-Key': 'anything', Authorization: `Bearer ${await token(chain)}` } });
    expect(beside.status).toBe(200);
    const asBearer = await call(app, '/delegated', `Bearer ${key}`);
    expect(await asBearer.json()).toMatchObject({ error: 'invalid_token', error_description: 'this service does not accept API keys' });
  });

  it('takes one credential: a key and a bearer token together are a bad request', async () => {
    const response = await keyed.request('/delegated', {
      headers: { 'X-API-Key': encodeApiKey(randomBytes(32)), Authorization: `Bearer ${await token(chain)}` },
    });
    expect(await refusal(response)).toEqual([400, 'invalid_request']);
  });

  it('refuses a mistyped key as an invalid token, in either header, and answers 503 when the issuer cannot be asked', async () => {
    const key = encodeApiKey(randomBytes(32));
    const typo = key.slice(0, -1) + (key.endsWith('0') ? '1' : '0');
    expect(await refusal(await keyed.request('/delegated', { headers: { 'X-API-Key': typo } }))).toEqual([401, 'invalid_token']);
    expect(await refusal(await keyed.request('/delegated', { headers: { 'X-API-Key': 'a.b.c' } }))).toEqual([401, 'invalid_token']);
    expect(await refusal(await call(keyed, '/delegated', `Bearer ${typo}`))).toEqual([401, 'invalid_token']);
    const down = await keyed.request('/delegated', { headers: { 'X-API-Key': key } });
    expect([down.status, down.headers.get('retry-after')]).toEqual([503, '5']);
  });
});

describe.runIf(testRedisUrl)('the verifier with the denylist on Redis', () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  let admin: Redis;
  let database: string;
  let proxy: TcpProxy;
  const verifiers: Verifier[] = [];

  const revoke = async (jti: string) => {
    const expiresAt = now() + 600;
    await admin.zadd(denylistKey(prefix), expiresAt, jti);
    await admin.publish(denylistChannel(prefix), JSON.stringify([{ jti, expiresAt }]));
  };
  const jtiOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).jti as string;

  beforeAll(async () => {
    admin = new Redis(testRedisUrl!);
    // As the issuer does once it has filled the set: without the mark, verifiers trust no copy.
    await admin.zadd(denylistKey(prefix), 'inf', DENYLIST_COMPLETE_MEMBER);
    const url = new URL(testRedisUrl!);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 6379) });
    // The same database as TEST_REDIS_URL (its path is the index), through the proxy.
    database = url.pathname;
  });
  afterAll(async () => {
    await Promise.all(verifiers.map((verifier) => verifier.close()));
    await admin?.del(denylistKey(prefix));
    await admin?.quit();
    await proxy?.close();
  });

  const verifierWith = (whenStale: 'reject' | 'accept') => {
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [publicJwk] },
      denylist: { redis: `redis://127.0.0.1:${proxy.port}${database}`, prefix, maxStalenessSeconds: 1, whenStale },
    });
    verifiers.push(verifier);
    return verifier;
  };

  it('refuses a revoked token as revoked (401), already revoked or revoked later', async () => {
    const before = await token();
    await revoke(jtiOf(before));
    const app = appWith(verifierWith('reject'));
    expect((await call(app, '/items', `Bearer ${before}`)).status).toBe(401);

    const later = await token();
    expect((await call(app, '/items', `Bearer ${later}`)).status).toBe(200);
    await revoke(jtiOf(later));
    await expect.poll(async () => (await call(app, '/items', `Bearer ${later}`)).status, { timeout: 2_000 }).toBe(401);
  });

  it('past the staleness limit refuses with 503 by default, or keeps accepting when told to', async () => {
    const strict = appWith(verifierWith('reject'));
    const lenient = appWith(verifierWith('accept'));
    const valid = await token();
    expect((await call(strict, '/items', `Bearer ${valid}`)).status).toBe(200);
    expect((await call(lenient, '/items', `Bearer ${valid}`)).status).toBe(200);

    await proxy.cut();
    try {
      // Within the limit the last copy still serves.
      expect((await call(strict, '/items', `Bearer ${valid}`)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const refused = await call(strict, '/items', `Bearer ${valid}`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect((await call(lenient, '/items', `Bearer ${valid}`)).status).toBe(200);
    } finally {
      await proxy.restore();
    }
    await expect.poll(async () => (await call(strict, '/items', `Bearer ${valid}`)).status, { timeout: 10_000 }).toBe(200);
  });
});

describe('the verifier explains its denylist', () => {
  it('refuses a denylist without Redis when it is created, saying what to do', () => {
    for (const redis of [undefined, '', 'localhost:6379']) {
      expect(() =>
        createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [publicJwk] }, denylist: { redis: redis as string } }),
      ).toThrow(/denylist\.redis must be the Redis URL .* leave denylist out/);
    }
  });

  it.runIf(testRedisUrl)('says once, not per request, that no issuer marked the set complete; and once when one does', async () => {
    const prefix = `test:${randomBytes(6).toString('hex')}:`;
    const lines: string[] = [];
    const logger = { warn: (line: string) => lines.push(`warn ${line}`), info: (line: string) => lines.push(`info ${line}`) };
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [publicJwk] },
      denylist: { redis: testRedisUrl!, prefix },
      logger,
    });
    const admin = new Redis(testRedisUrl!);
    try {
      for (let i = 0; i < 3; i += 1) await expect(verifier.verify(await token())).rejects.toMatchObject({ code: 'denylist_unavailable' });
      expect(lines).toEqual([
        expect.stringMatching(/^warn .*not marked complete by an issuer.*REDIS_KEY_PREFIX=test:.*tokens are refused/),
      ]);

      // The issuer fills the set and says so.
      await admin.zadd(denylistKey(prefix), 'inf', DENYLIST_COMPLETE_MEMBER);
      await admin.publish(denylistChannel(prefix), JSON.stringify({ refilled: true }));
      await expect.poll(() => lines.length, { timeout: 5_000 }).toBe(2);
      expect(lines[1]).toMatch(/^info .*following the denylist/);
      await expect(verifier.verify(await token())).resolves.toMatchObject({ sub: 'user-1' });
    } finally {
      await verifier.close();
      await admin.del(denylistKey(prefix));
      await admin.quit();
    }
  });

  it('says once that it cannot reach Redis, and why, without the URL', async () => {
    const lines: string[] = [];
    const logger = { warn: (line: string) => lines.push(line), info: (line: string) => lines.push(line) };
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [publicJwk] },
      denylist: { redis: 'redis://:hunter2-secret@127.0.0.1:9/0', maxStalenessSeconds: 1 },
      logger,
    });
    try {
      await expect(verifier.verify(await token())).rejects.toMatchObject({ code: 'denylist_unavailable' });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(lines).toEqual([
        expect.stringMatching(/cannot follow the denylist \(.*ECONNREFUSED.*\); after 1 s without it, tokens are refused/),
      ]);
      expect(lines.join('\n')).not.toContain('hunter2');
    } finally {
      await verifier.close();
    }
  });
});

describe('createVerifier with keys in memory and an authoritative revocation store', () => {
  it('reads the key set on every verification, so a key added later verifies', async () => {
    let keys = createLocalJWKSet({ keys: [] });
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, keySet: () => keys });
    const jwt = await token();
    await expect(verifier.verify(jwt)).rejects.toMatchObject({ code: 'invalid_token' });
    keys = createLocalJWKSet({ keys: [publicJwk] });
    await expect(verifier.verify(jwt)).resolves.toMatchObject({ sub: 'user-1' });
  });

  it('refuses a revoked jti, and refuses (503, never accepts) when the store cannot answer', async () => {
    const revoked = new Set<string>();
    let storeUp = true;
    const verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [publicJwk] },
      revocations: {
        refusal: async ({ jti }) => {
          if (!storeUp) throw new Error('connection refused');
          return revoked.has(jti) ? 'revoked' : undefined;
        },
      },
    });
    const app = appWith(verifier);
    const jwt = await token();
    expect((await call(app, '/items', `Bearer ${jwt}`)).status).toBe(200);
    revoked.add(JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).jti as string);
    expect((await call(app, '/items', `Bearer ${jwt}`)).status).toBe(401);
    storeUp = false;
    const unavailable = await call(app, '/items', `Bearer ${await token()}`);
    expect([unavailable.status, unavailable.headers.get('retry-after')]).toEqual([503, '5']);
  });
});
