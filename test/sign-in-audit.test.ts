import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAuditEvents, type AuditEventRow } from '../src/audit/audit-store.js';
import { createClient, type CreatedClient } from '../src/clients/client-registry.js';
import { registerUser } from '../src/users/accounts.js';
import type { User } from '../src/users/user-store.js';
import { createInProcessApp, passwordSignIn, type InProcessApp } from './support/in-process-app.js';

const PASSWORD = 'a long and proper passphrase';
/** What people type into the username field by mistake: it must never be recorded. */
const TYPED_PASSWORD = 'my-secret-passphrase-typed-as-username';

let harness: InProcessApp;
let web: CreatedClient;
let dora: User;

const signIn = (username: string, password: string, ip: string) => passwordSignIn(harness, web, { username, password }, ip);

async function eventsOf(type: string): Promise<AuditEventRow[]> {
  return (await listAuditEvents(harness.database.db, { type }, { limit: 200 })).items;
}

beforeAll(async () => {
  harness = await createInProcessApp({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '2' } });
  web = await createClient(harness.database.db, { name: 'web', grantTypes: ['password'], scopes: [], audiences: ['https://api.internal'] });
  dora = await registerUser(harness.accounts, { username: 'dora', email: 'dora@example.com' }, PASSWORD);
});

afterAll(() => harness?.close());

describe('sign-ins are audited', () => {
  it('records a success with the user, the client and the address', async () => {
    expect((await signIn('dora', PASSWORD, '198.51.100.1')).status).toBe(200);
    expect(await eventsOf('sign_in_succeeded')).toEqual([
      expect.objectContaining({ userId: dora.id, clientId: web.id, ipAddress: '198.51.100.1', details: {} }),
    ]);
  });

  it('records failures and throttling, for a known account with its id', async () => {
    for (let i = 0; i < 2; i += 1) expect((await signIn('dora', 'wrong wrong wrong', '198.51.100.2')).status).toBe(400);
    expect((await signIn('dora', PASSWORD, '198.51.100.2')).status).toBe(429);
    expect(await eventsOf('sign_in_failed')).toEqual([
      expect.objectContaining({ userId: dora.id, clientId: web.id, ipAddress: '198.51.100.2', details: { reason: 'wrong_password' } }),
      expect.objectContaining({ userId: dora.id, clientId: web.id, ipAddress: '198.51.100.2', details: { reason: 'wrong_password' } }),
    ]);
    expect(await eventsOf('sign_in_throttled')).toEqual([
      expect.objectContaining({ userId: dora.id, clientId: web.id, ipAddress: '198.51.100.2' }),
    ]);
  });

  it('records an unknown account without what was typed, and no password anywhere', async () => {
    expect((await signIn(TYPED_PASSWORD, 'hunter2 hunter2', '198.51.100.3')).status).toBe(400);
    const [unknown] = (await eventsOf('sign_in_failed')).filter((event) => event.ipAddress === '198.51.100.3');
    expect(unknown).toMatchObject({ userId: null, clientId: web.id, details: { reason: 'unknown_account' } });
    const everything = JSON.stringify((await listAuditEvents(harness.database.db, {}, { limit: 200 })).items);
    for (const secret of [TYPED_PASSWORD, 'hunter2', PASSWORD, 'wrong wrong wrong']) expect(everything).not.toContain(secret);
  });
});
