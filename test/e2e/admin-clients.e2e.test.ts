import { describe, expect, it } from 'vitest';
import { callApi, clientToken, refresh, signIn } from '../support/api-client.js';
import { basicAuth, post } from '../support/oauth-client.js';
import { runCli } from '../support/processes.js';
import { adminDatabaseUrl } from '../support/test-database.js';
import { API, asAdmin, automation, database, ISSUER, PASSWORD, url, useAdminServer } from '../support/admin-server.js';

useAdminServer();

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
      pkce_required: true,
    });
    expect(created.body).toMatchObject({ require_mfa: false, single_factor_password_grant: false });
    const changed = await asAdmin('PATCH', `/admin/clients/${String(created.body.client_id)}`, {
      first_party: false,
      post_logout_redirect_uris: [],
      pkce_required: false,
      require_mfa: true,
    });
    expect(changed.body).toMatchObject({
      first_party: false,
      pkce_required: false,
      require_mfa: true,
      post_logout_redirect_uris: [],
      redirect_uris: app.redirect_uris,
    });
    // PKCE is the only protection of a public client's code.
    const spa = await asAdmin('POST', '/admin/clients', { ...app, name: 'spa', public: true, pkce_required: false });
    expect(spa.status).toBe(400);
    expect(String(spa.body.error_description)).toContain('pkce_required: a public client must use PKCE');
    // A client that requires MFA cannot also let the password grant skip it.
    const both = await asAdmin('POST', '/admin/clients', {
      ...body,
      grant_types: ['password'],
      require_mfa: true,
      single_factor_password_grant: true,
    });
    expect(both.status).toBe(400);
    expect(String(both.body.error_description)).toContain('single_factor_password_grant');
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
