import { describe, expect, it } from 'vitest';
import { callApi, refresh, signIn } from '../support/api-client.js';
import { adminId, app, asAdmin, newUser, PASSWORD, url, useAdminServer } from '../support/admin-server.js';

useAdminServer();

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
