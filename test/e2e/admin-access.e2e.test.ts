import { describe, expect, it } from 'vitest';
import { callApi, clientToken, signIn } from '../support/api-client.js';
import { basicAuth, post } from '../support/oauth-client.js';
import { adminDatabaseUrl } from '../support/test-database.js';
import postgres from 'postgres';
import {
  adminId,
  API,
  app,
  asAdmin,
  automation,
  database,
  ISSUER,
  newUser,
  PASSWORD,
  url,
  useAdminServer,
  worker,
} from '../support/admin-server.js';

useAdminServer();

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
