import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi, clientToken, refresh, signIn } from './support/api-client.js';
import { basicAuth, post } from './support/oauth-client.js';
import { runCli, startServer, type ClientCredentials, type RunningServer } from './support/processes.js';
import { seedClient, seedUser } from './support/seed.js';
import { serviceAccountClaims, startWorkloadIssuer, type WorkloadIssuer } from './support/workload-issuer.js';
import { adminDatabaseUrl, createTestDatabase, type TestDatabase } from './support/test-database.js';

const ISSUER = 'http://issuer.test';
const API = 'https://orders.internal';
const PASSWORD = 'correct horse battery staple';

let database: TestDatabase;
let server: RunningServer;
let url: string;
let app: ClientCredentials;
let automation: ClientCredentials;
let worker: ClientCredentials;
let adminId: string;
let adminToken: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const env = database.env;
  app = await seedClient(env, [
    '--name',
    'console',
    '--grants',
    'password,refresh_token',
    '--scopes',
    'openid account admin orders:read',
    '--audiences',
    `${ISSUER},${API}`,
  ]);
  automation = await seedClient(env, [
    '--name',
    'automation',
    '--grants',
    'client_credentials',
    '--scopes',
    'admin',
    '--audiences',
    ISSUER,
  ]);
  worker = await seedClient(env, ['--name', 'worker', '--grants', 'client_credentials', '--scopes', 'orders:read', '--audiences', ISSUER]);
  adminId = (await seedUser(env, ['--username', 'root', '--email', 'root@example.com', '--roles', 'admin,user'], PASSWORD)).id;
  for (const name of ['ann', 'ben', 'cat', 'dan', 'eve']) {
    await seedUser(env, ['--username', name, '--email', `${name}@example.com`], PASSWORD);
  }
  server = await startServer({ ...env, ISSUER, KEY_ACTIVATION_DELAY: '60' });
  url = server.url;
  adminToken = String((await signIn(url, app, 'root', PASSWORD, 'admin')).body.access_token);
}, 90_000);

afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

const asAdmin = (method: string, path: string, json?: unknown) => callApi(url, method, path, { token: adminToken, json });

async function newUser(username: string) {
  const created = await asAdmin('POST', '/admin/users', { username, email: `${username}@example.com`, password: PASSWORD });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return String(created.body.id);
}

describe('who may administer', () => {
  it('gives the admin scope to admins only', async () => {
    const admin = await signIn(url, app, 'root', PASSWORD, 'openid admin');
    expect(admin.body.scope).toBe('openid admin');
    const user = await signIn(url, app, 'ann', PASSWORD, 'openid admin');
    expect([user.status, user.body.scope]).toEqual([200, 'openid']);
  });

  it('answers 401 without a token, 403 insufficient_scope without the admin scope, 401 for another audience', async () => {
    const none = await callApi(url, 'GET', '/admin/users');
    expect([none.status, none.headers.get('www-authenticate')]).toEqual([401, 'Bearer realm="token-issuer"']);

    const userToken = String((await signIn(url, app, 'ann', PASSWORD, 'openid admin')).body.access_token);
    const user = await callApi(url, 'GET', '/admin/users', { token: userToken });
    expect([user.status, user.body.error]).toEqual([403, 'insufficient_scope']);
    expect(user.headers.get('www-authenticate')).toContain('error="insufficient_scope", scope="admin"');

    const adminWithoutScope = String((await signIn(url, app, 'root', PASSWORD, 'openid')).body.access_token);
    expect((await callApi(url, 'GET', '/admin/users', { token: adminWithoutScope })).status).toBe(403);

    const ordersOnly = await post(
      `${url}/token`,
      { grant_type: 'password', username: 'root', password: PASSWORD, scope: 'admin', resource: API },
      { headers: { Authorization: basicAuth(app) } },
    );
    expect(ordersOnly.status).toBe(200);
    const wrongAudience = await callApi(url, 'GET', '/admin/users', { token: String(ordersOnly.body.access_token) });
    expect([wrongAudience.status, wrongAudience.body.error]).toEqual([401, 'invalid_token']);

    const machine = String((await clientToken(url, worker)).body.access_token);
    expect((await callApi(url, 'GET', '/admin/users', { token: machine })).status).toBe(403);
  });

  it('lets a client_credentials token with the admin scope administer, and names it in the audit trail', async () => {
    const token = String((await clientToken(url, automation, 'admin')).body.access_token);
    const created = await callApi(url, 'POST', '/admin/users', {
      token,
      json: { username: 'robot-made', email: 'robot-made@example.com', password: PASSWORD },
    });
    expect(created.status).toBe(201);
    const events = await asAdmin('GET', `/admin/audit?type=user_created&user_id=${String(created.body.id)}`);
    expect(events.body.items?.map((event) => event.actor)).toEqual([`client:${automation.client_id}`]);
  });

  it('stops honouring the tokens of a client once it is deleted', async () => {
    const created = await asAdmin('POST', '/admin/clients', {
      name: 'short-lived robot',
      grant_types: ['client_credentials'],
      scopes: ['admin'],
      audiences: [ISSUER],
    });
    const robot = { client_id: String(created.body.client_id), client_secret: String(created.body.client_secret) };
    const token = String((await clientToken(url, robot)).body.access_token);
    expect((await callApi(url, 'GET', '/admin/keys', { token })).status).toBe(200);
    expect((await asAdmin('DELETE', `/admin/clients/${robot.client_id}`)).status).toBe(204);
    const refused = await callApi(url, 'GET', '/admin/keys', { token });
    expect([refused.status, refused.body.error]).toEqual([401, 'invalid_token']);
  });

  // Needs a second writer beside the server, which only PostgreSQL allows.
  it.runIf(adminDatabaseUrl !== undefined)('answers 403 to a token whose user is no longer an admin', async () => {
    const id = await newUser('demoted');
    const sql = postgres(database.url!, { max: 1, onnotice: () => {} });
    await sql`update users set roles = '{admin,user}' where id = ${id}`;
    const token = String((await signIn(url, app, 'demoted', PASSWORD, 'admin')).body.access_token);
    expect((await callApi(url, 'GET', '/admin/users', { token })).status).toBe(200);
    // The role taken away outside the API (no session revoked): the role is read afresh.
    await sql`update users set roles = '{user}' where id = ${id}`;
    await sql.end();
    const refused = await callApi(url, 'GET', '/admin/users', { token });
    expect([refused.status, refused.body.error]).toEqual([403, 'insufficient_role']);
  });
});

describe('/admin/users', () => {
  it('pages through every user with a cursor, each exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await asAdmin('GET', `/admin/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items!.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items!.map((user) => String(user.username)));
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    const all = await asAdmin('GET', '/admin/users?limit=200');
    expect(seen).toEqual(all.body.items!.map((user) => user.username));
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(['root', 'ann', 'ben', 'cat', 'dan', 'eve']));
    expect(JSON.stringify(all.body)).not.toMatch(/argon2|password_hash/);
  });

  it('filters by username, email, role and active', async () => {
    const names = async (query: string) => (await asAdmin('GET', `/admin/users?${query}`)).body.items!.map((user) => user.username);
    expect(await names('role=admin')).toContain('root');
    expect(await names('role=admin')).not.toContain('ann');
    expect(await names('username=NN')).toEqual(['ann']);
    expect(await names('email=ben@')).toEqual(['ben']);
    await asAdmin('PATCH', `/admin/users/${await newUser('sleepy')}`, { active: false });
    expect(await names('active=false')).toEqual(['sleepy']);
  });

  it('refuses bad queries and bodies, naming the field', async () => {
    const repeated = await asAdmin('GET', '/admin/users?role=admin&role=user');
    expect([repeated.status, repeated.body.error_description]).toEqual([400, 'role: given more than once']);
    expect((await asAdmin('GET', '/admin/users?colour=red')).body.error_description).toBe('colour: not a known field');
    expect((await asAdmin('GET', '/admin/users?limit=1000')).status).toBe(400);
    expect((await asAdmin('GET', '/admin/users?cursor=garbage')).body.error_description).toBe('cursor: not a cursor this API returned');
    const badRole = await asAdmin('POST', '/admin/users', {
      username: 'zed',
      email: 'zed@example.com',
      password: PASSWORD,
      roles: ['owner'],
    });
    expect([badRole.status, String(badRole.body.error_description)]).toEqual([400, expect.stringContaining('roles.0:')]);
    expect((await asAdmin('GET', '/admin/users/not-a-uuid')).status).toBe(404);
    expect((await asAdmin('GET', '/admin/users/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await asAdmin('PATCH', `/admin/users/${adminId}`, { active: 'no' })).status).toBe(400);
  });

  it('creates, shows, updates and audits, naming the admin as the actor', async () => {
    const id = await newUser('fay');
    const shown = await asAdmin('GET', `/admin/users/${id}`);
    expect(shown.body).toMatchObject({ id, username: 'fay', roles: ['user'], is_active: true });
    const updated = await asAdmin('PATCH', `/admin/users/${id}`, { roles: ['moderator', 'user'], full_name: 'Fay Wray' });
    expect(updated.body).toMatchObject({ roles: ['moderator', 'user'], full_name: 'Fay Wray' });

    const events = await asAdmin('GET', `/admin/audit?user_id=${id}`);
    expect(events.body.items!.map((event) => [event.type, event.actor])).toEqual([
      ['user_updated', `user:${adminId}`],
      ['user_created', `user:${adminId}`],
    ]);
    expect(events.body.items![0]!.details).toMatchObject({ changed: ['full_name', 'roles'] });
  });

  it('ends the sessions of a user who loses a role or is disabled', async () => {
    const id = await newUser('gus');
    const tokens = await signIn(url, app, 'gus', PASSWORD);
    expect((await callApi(url, 'GET', '/me', { token: String(tokens.body.access_token) })).status).toBe(200);
    await asAdmin('PATCH', `/admin/users/${id}`, { roles: ['moderator'] });
    expect((await callApi(url, 'GET', '/me', { token: String(tokens.body.access_token) })).status).toBe(401);
    expect((await refresh(url, app, String(tokens.body.refresh_token))).status).toBe(400);

    const again = await signIn(url, app, 'gus', PASSWORD);
    await asAdmin('PATCH', `/admin/users/${id}`, { active: false });
    expect((await callApi(url, 'GET', '/me', { token: String(again.body.access_token) })).status).toBe(401);
    expect((await signIn(url, app, 'gus', PASSWORD)).status).toBe(400);
  });

  it('revokes every session of a user on request', async () => {
    const id = await newUser('hal');
    const tokens = await signIn(url, app, 'hal', PASSWORD);
    expect((await asAdmin('DELETE', `/admin/users/${id}/sessions`)).status).toBe(204);
    expect((await callApi(url, 'GET', '/me', { token: String(tokens.body.access_token) })).status).toBe(401);
    expect((await refresh(url, app, String(tokens.body.refresh_token))).status).toBe(400);
    expect((await signIn(url, app, 'hal', PASSWORD)).status).toBe(200);
  });

  it('deletes a user and everything of theirs', async () => {
    const id = await newUser('ivy');
    const tokens = await signIn(url, app, 'ivy', PASSWORD);
    expect((await asAdmin('DELETE', `/admin/users/${id}`)).status).toBe(204);
    expect((await asAdmin('GET', `/admin/users/${id}`)).status).toBe(404);
    expect((await callApi(url, 'GET', '/me', { token: String(tokens.body.access_token) })).status).toBe(401);
    expect((await refresh(url, app, String(tokens.body.refresh_token))).status).toBe(400);
    expect((await signIn(url, app, 'ivy', PASSWORD)).status).toBe(400);
    const deleted = await asAdmin('GET', `/admin/audit?type=user_deleted&user_id=${id}`);
    expect(deleted.body.items).toHaveLength(1);
  });
});

describe('/admin/clients', () => {
  const body = { name: 'reports', grant_types: ['client_credentials'], scopes: ['reports:read', 'reports:write'], audiences: [API] };

  it('registers a client, shows its secret once, and never again', async () => {
    const created = await asAdmin('POST', '/admin/clients', { ...body, redirect_uris: ['https://reports.example.com/callback'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'reports', public: false, redirect_uris: ['https://reports.example.com/callback'] });
    expect(String(created.body.client_secret)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const credentials = { client_id: String(created.body.client_id), client_secret: String(created.body.client_secret) };
    expect((await clientToken(url, credentials)).status).toBe(200);

    const shown = await asAdmin('GET', `/admin/clients/${credentials.client_id}`);
    const listed = await asAdmin('GET', '/admin/clients?limit=200');
    expect(shown.body.client_secret).toBeUndefined();
    expect(JSON.stringify(listed.body)).not.toContain(credentials.client_secret);
    expect(listed.body.items!.map((client) => client.client_id)).toContain(credentials.client_id);
  });

  it('refuses what the client rules refuse, naming the field', async () => {
    const unknownGrant = await asAdmin('POST', '/admin/clients', { ...body, grant_types: ['implicit'] });
    expect([unknownGrant.status, String(unknownGrant.body.error_description)]).toEqual([
      400,
      expect.stringContaining('grant_types: unsupported implicit'),
    ]);
    const noAudience = await asAdmin('POST', '/admin/clients', { ...body, audiences: [] });
    expect(String(noAudience.body.error_description)).toContain('audiences:');
    const badRedirect = await asAdmin('POST', '/admin/clients', { ...body, redirect_uris: ['http://evil.example.com/#x'] });
    expect(String(badRedirect.body.error_description)).toContain('redirect_uris.0:');
    const extra = await asAdmin('POST', '/admin/clients', { ...body, secret: 'mine' });
    expect(extra.body.error_description).toBe('secret: not a known field');
    const noRedirect = await asAdmin('POST', '/admin/clients', { ...body, grant_types: ['authorization_code'] });
    expect(String(noRedirect.body.error_description)).toContain(
      'redirect_uris: the authorization_code grant needs at least one redirect URI',
    );
    const badLogout = await asAdmin('POST', '/admin/clients', { ...body, post_logout_redirect_uris: ['com.example.app:/bye'] });
    expect(String(badLogout.body.error_description)).toContain('post_logout_redirect_uris.0:');
  });

  it('registers and changes an app for the authorization code flow', async () => {
    const app = {
      ...body,
      name: 'shop',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['https://shop.example.com/callback', 'com.example.shop:/callback'],
      post_logout_redirect_uris: ['https://shop.example.com/'],
      first_party: true,
    };
    const created = await asAdmin('POST', '/admin/clients', app);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      redirect_uris: app.redirect_uris,
      post_logout_redirect_uris: app.post_logout_redirect_uris,
      first_party: true,
    });
    const changed = await asAdmin('PATCH', `/admin/clients/${String(created.body.client_id)}`, {
      first_party: false,
      post_logout_redirect_uris: [],
    });
    expect(changed.body).toMatchObject({ first_party: false, post_logout_redirect_uris: [], redirect_uris: app.redirect_uris });
  });

  it('registers a federated client: no secret, and not public, so its client_id alone gets nothing', async () => {
    const created = await asAdmin('POST', '/admin/clients', { ...body, name: 'billing', auth_methods: ['federation'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ public: false, auth_methods: ['federation'], secrets: [] });
    expect(created.body.client_secret).toBeUndefined();
    const byIdAlone = await fetch(`${url}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: String(created.body.client_id) }),
    });
    expect([byIdAlone.status, ((await byIdAlone.json()) as { error: string }).error]).toEqual([401, 'invalid_client']);
  });

  it('rotates the secret: both work until the old one is retired, and the listing shows two, never their values', async () => {
    const created = await asAdmin('POST', '/admin/clients', body);
    const id = String(created.body.client_id);
    const old = { client_id: id, client_secret: String(created.body.client_secret) };
    const rotated = await asAdmin('POST', `/admin/clients/${id}/secret`);
    expect(rotated.status).toBe(200);
    const fresh = { client_id: id, client_secret: String(rotated.body.client_secret) };
    const overlapEnds = Date.parse(String(rotated.body.previous_secret_expires_at));
    expect(overlapEnds - Date.now()).toBeGreaterThan(86_400_000 - 60_000); // CLIENT_SECRET_OVERLAP_SECONDS, a day
    expect([(await clientToken(url, old)).status, (await clientToken(url, fresh)).status]).toEqual([200, 200]);
    const shown = await asAdmin('GET', `/admin/clients/${id}`);
    expect(shown.body.secrets).toEqual([
      { created_at: expect.any(String), expires_at: null },
      { created_at: shown.body.created_at, expires_at: new Date(overlapEnds).toISOString() },
    ]);
    expect(JSON.stringify(shown.body)).not.toContain(old.client_secret);

    expect((await asAdmin('DELETE', `/admin/clients/${id}/secret/previous`)).status).toBe(204);
    expect([(await clientToken(url, old)).status, (await clientToken(url, fresh)).status]).toEqual([401, 200]);
    expect((await asAdmin('DELETE', `/admin/clients/${id}/secret/previous`)).status).toBe(404);
    expect((await asAdmin('GET', `/admin/clients/${id}`)).body.secrets).toHaveLength(1);
    const events = await asAdmin('GET', `/admin/audit?client_id=${id}`);
    expect(events.body.items!.map((event) => event.type)).toEqual(['client_secret_retired', 'client_secret_rotated', 'client_created']);
  });

  it('rolls a fleet of four instances over to a new secret under load without a failed request', async () => {
    const created = await asAdmin('POST', '/admin/clients', body);
    const id = String(created.body.client_id);
    const old = String(created.body.client_secret);
    const rotation: { secret?: string } = {};
    const statuses: number[] = [];
    let running = true;
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // Each instance takes up the new secret at its own moment after the rotation, as a rolling deploy does.
    const instance = async (index: number) => {
      let secret = old;
      let sawFresh: number | undefined;
      while (running) {
        if (rotation.secret && sawFresh === undefined) sawFresh = Date.now();
        if (sawFresh !== undefined && Date.now() - sawFresh >= index * 150) secret = rotation.secret!;
        statuses.push((await clientToken(url, { client_id: id, client_secret: secret })).status);
      }
    };
    const fleet = [0, 1, 2, 3].map(instance);
    await pause(300);
    rotation.secret = String((await asAdmin('POST', `/admin/clients/${id}/secret`)).body.client_secret);
    await pause(900);
    running = false;
    await Promise.all(fleet);
    expect(statuses.length).toBeGreaterThan(40);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);

    expect((await asAdmin('DELETE', `/admin/clients/${id}/secret/previous`)).status).toBe(204);
    expect((await clientToken(url, { client_id: id, client_secret: old })).status).toBe(401);
  });

  it('rotating again ends the oldest secret at once; a leaked secret (revoke_tokens) gets no overlap', async () => {
    const created = await asAdmin('POST', '/admin/clients', body);
    const id = String(created.body.client_id);
    const first = { client_id: id, client_secret: String(created.body.client_secret) };
    const second = { client_id: id, client_secret: String((await asAdmin('POST', `/admin/clients/${id}/secret`)).body.client_secret) };
    const third = { client_id: id, client_secret: String((await asAdmin('POST', `/admin/clients/${id}/secret`)).body.client_secret) };
    expect([
      (await clientToken(url, first)).status,
      (await clientToken(url, second)).status,
      (await clientToken(url, third)).status,
    ]).toEqual([401, 200, 200]);
    const leaked = await asAdmin('POST', `/admin/clients/${id}/secret?revoke_tokens=true`);
    expect(leaked.body.previous_secret_expires_at).toBeNull();
    const fourth = { client_id: id, client_secret: String(leaked.body.client_secret) };
    expect([
      (await clientToken(url, second)).status,
      (await clientToken(url, third)).status,
      (await clientToken(url, fourth)).status,
    ]).toEqual([401, 401, 200]);
  });

  it('updates a client; narrowing it ends its sessions', async () => {
    const created = await asAdmin('POST', '/admin/clients', {
      name: 'shop',
      grant_types: ['password', 'refresh_token'],
      scopes: ['openid', 'account', 'cart'],
      audiences: [ISSUER],
    });
    const shop = { client_id: String(created.body.client_id), client_secret: String(created.body.client_secret) };
    const tokens = await signIn(url, shop, 'ann', PASSWORD);
    const renamed = await asAdmin('PATCH', `/admin/clients/${shop.client_id}`, { name: 'the shop' });
    expect(renamed.body.name).toBe('the shop');
    expect((await callApi(url, 'GET', '/me', { token: String(tokens.body.access_token) })).status).toBe(200);

    const narrowed = await asAdmin('PATCH', `/admin/clients/${shop.client_id}`, { scopes: ['openid', 'account'] });
    expect(narrowed.body.scopes).toEqual(['openid', 'account']);
    expect((await callApi(url, 'GET', '/me', { token: String(tokens.body.access_token) })).status).toBe(401);
    expect((await refresh(url, shop, String(tokens.body.refresh_token))).status).toBe(400);
  });

  it('deletes a client: its sessions end and it can no longer get tokens', async () => {
    const created = await asAdmin('POST', '/admin/clients', {
      name: 'old app',
      grant_types: ['password', 'refresh_token'],
      scopes: ['openid'],
      audiences: [ISSUER],
    });
    const old = { client_id: String(created.body.client_id), client_secret: String(created.body.client_secret) };
    const tokens = await signIn(url, old, 'ben', PASSWORD);
    expect((await asAdmin('DELETE', `/admin/clients/${old.client_id}`)).status).toBe(204);
    expect((await asAdmin('GET', `/admin/clients/${old.client_id}`)).status).toBe(404);
    expect((await callApi(url, 'GET', '/me', { token: String(tokens.body.access_token) })).status).toBe(401);
    expect((await signIn(url, old, 'ben', PASSWORD)).status).toBe(401);
  });
});

describe('clients cached by the server', () => {
  // The CLI beside a running server needs PostgreSQL (the embedded database belongs to one process).
  it.runIf(adminDatabaseUrl !== undefined)(
    'refuses a client deleted by another process (the CLI) at once, not after the cache time',
    async () => {
      const created = await asAdmin('POST', '/admin/clients', {
        name: 'doomed',
        grant_types: ['client_credentials', 'password', 'refresh_token'],
        scopes: ['openid'],
        audiences: [API],
      });
      const doomed = { client_id: String(created.body.client_id), client_secret: String(created.body.client_secret) };
      expect((await clientToken(url, doomed)).status).toBe(200); // now in the server's memory
      const session = String((await signIn(url, doomed, 'ann', PASSWORD)).body.access_token);
      const introspect = async () =>
        (await post(`${url}/introspect`, { token: session }, { headers: { Authorization: basicAuth(automation) } })).body.active;
      expect(await introspect()).toBe(true);
      const deleted = await runCli(['clients', 'delete', doomed.client_id], database.env);
      expect(deleted.code, deleted.stderr).toBe(0);
      // The database's notice arrives within milliseconds; the cache's own limit is 10 s.
      const deadline = Date.now() + 2000;
      let status = 200;
      while (status === 200 && Date.now() < deadline) {
        status = (await clientToken(url, doomed)).status;
        if (status === 200) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(status).toBe(401);
      // Its sessions ended with it, and their access tokens are denylisted for every verifier.
      expect(await introspect()).toBe(false);
    },
  );
});

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

describe('/admin/keys and /admin/audit', () => {
  it('lists keys without private parts, and rotates one in as pending', async () => {
    const before = await asAdmin('GET', '/admin/keys');
    expect(before.body.items!.map((key) => [key.purpose, key.status])).toEqual([
      ['access', 'current'],
      ['refresh', 'current'],
    ]);
    expect(JSON.stringify(before.body)).not.toMatch(/"d"|private|sealed/i);

    const rotated = await asAdmin('POST', '/admin/keys/rotate');
    expect([rotated.status, rotated.body.status]).toEqual([201, 'pending']);
    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((key) => key.kid)).toContain(rotated.body.kid);
    const events = await asAdmin('GET', '/admin/audit?type=signing_key_rotated');
    expect(events.body.items!.map((event) => [event.actor, (event.details as { kid: string }).kid])).toEqual([
      [`user:${adminId}`, rotated.body.kid],
    ]);
  });

  it('pages the audit trail newest first, within a time range', async () => {
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const all = await asAdmin('GET', `/admin/audit?since=${since}&limit=200`);
    const times = all.body.items!.map((event) => String(event.occurred_at));
    expect(times).toEqual([...times].sort().reverse());
    const collected: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await asAdmin('GET', `/admin/audit?since=${since}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      collected.push(...page.body.items!.map((event) => String(event.id)));
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    expect(collected).toEqual(all.body.items!.map((event) => event.id));
    expect((await asAdmin('GET', `/admin/audit?until=${since}`)).body.items).toEqual([]);
    expect((await asAdmin('GET', '/admin/audit?since=yesterday')).status).toBe(400);
  });
});
