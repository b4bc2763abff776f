import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/clients/client-registry.js';
import { openDatabase, openInMemoryDatabase, type DatabaseHandle } from '../src/db/database.js';
import {
  auditEvents,
  authorizationCodes,
  authorizationRequests,
  browserSessions,
  passwordResetTokens,
  refreshTokenFamilies,
  refreshTokens,
  revocationCutoffs,
  revokedTokens,
  webauthnChallenges,
} from '../src/db/schema.js';
import { pruneOnce, type RetentionPolicy } from '../src/retention/prune.js';
import { insertUser } from '../src/users/user-store.js';
import { adminDatabaseUrl, createTestDatabase, migratedPostgresForBlock, type TestDatabase } from './support/test-database.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const DAY = 86_400;
const POLICY: RetentionPolicy = { spentRefreshTokens: DAY, endedSessions: 30 * DAY, auditEvents: 90 * DAY };
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
const HOUR = 3600;

describe.each([
  ['PGlite', false],
  ['PostgreSQL', true],
])('retention on %s', (_name, onPostgres) => {
  let handle: DatabaseHandle | undefined;
  let database: TestDatabase | undefined;

  beforeAll(async () => {
    if (onPostgres && !adminDatabaseUrl) return;
    database = onPostgres ? await createTestDatabase({ redis: false }) : undefined;
    handle = database ? await openDatabase({ databaseUrl: database.url, dataDir: '' }) : await openInMemoryDatabase();
    await handle.migrate();
  });

  afterAll(async () => {
    await handle?.close();
    await database?.drop();
  });

  async function family(times: { expiresAt: Date; revokedAt?: Date }) {
    const db = handle!.db;
    const client = await createClient(db, { name: 'c', grantTypes: ['password'], scopes: [], audiences: ['https://api.test'] });
    const user = await insertUser(
      db,
      { username: `u${randomUUID().slice(0, 8)}`, email: `${randomUUID()}@example.com`, roles: ['user'] },
      'x',
    );
    const id = randomUUID();
    await db.insert(refreshTokenFamilies).values({
      id,
      clientId: client.id,
      userId: user.id,
      scope: [],
      audience: ['a'],
      authTime: at(-40 * DAY),
      expiresAt: times.expiresAt,
      revokedAt: times.revokedAt ?? null,
    });
    return id;
  }

  async function token(familyId: string, jti: string, times: { usedAt?: Date; expiresAt: Date; accessExpiresAt: Date }) {
    await handle!.db.insert(refreshTokens).values({
      jti,
      familyId,
      issuedAt: at(-3 * DAY),
      expiresAt: times.expiresAt,
      usedAt: times.usedAt ?? null,
      accessJti: `a-${jti}`,
      accessScope: [],
      accessExpiresAt: times.accessExpiresAt,
    });
  }

  it('deletes exactly what no token needs any more, across each boundary, in batches', async () => {
    if (!handle) return expect(onPostgres).toBe(true); // PostgreSQL not configured here; CI always has it
    const db = handle.db;
    const live = await family({ expiresAt: at(20 * DAY) });
    await token(live, 'spent-2-days-ago', { usedAt: at(-2 * DAY), expiresAt: at(5 * DAY), accessExpiresAt: at(-2 * DAY) });
    await token(live, 'spent-an-hour-ago', { usedAt: at(-HOUR), expiresAt: at(5 * DAY), accessExpiresAt: at(-HOUR) });
    await token(live, 'spent-long-ago-access-live', { usedAt: at(-2 * DAY), expiresAt: at(5 * DAY), accessExpiresAt: at(600) });
    await token(live, 'current', { expiresAt: at(5 * DAY), accessExpiresAt: at(600) });
    await token(live, 'expired-2-days-ago', { expiresAt: at(-2 * DAY), accessExpiresAt: at(-2 * DAY) });
    const revokedLongAgo = await family({ expiresAt: at(DAY), revokedAt: at(-31 * DAY) });
    await token(revokedLongAgo, 'in-old-revoked-session', { expiresAt: at(DAY), accessExpiresAt: at(-31 * DAY) });
    const revokedRecently = await family({ expiresAt: at(DAY), revokedAt: at(-29 * DAY) });
    const expiredLongAgo = await family({ expiresAt: at(-31 * DAY) });
    await db
      .insert(auditEvents)
      .values([
        ...Array.from({ length: 2500 }, () => ({ type: 'logout', occurredAt: at(-91 * DAY) })),
        { type: 'kept', occurredAt: at(-89 * DAY) },
      ]);
    // Kept for the verifiers' clock tolerance past expiry (EXPIRY_GRACE_SECONDS, 60 s).
    await db.insert(revokedTokens).values([
      { jti: 'revoked-expired', expiresAt: at(-61), reason: 'r' },
      { jti: 'revoked-in-tolerance', expiresAt: at(-59), reason: 'r' },
      { jti: 'revoked-live', expiresAt: at(60), reason: 'r' },
    ]);
    await db.insert(revocationCutoffs).values([
      { kind: 'sub', value: 'gone', before: at(-HOUR), expiresAt: at(-61), reason: 'r' },
      { kind: 'sub', value: 'kept', before: at(-HOUR), expiresAt: at(-59), reason: 'r' },
    ]);
    const resetUser = (await db.select({ userId: refreshTokenFamilies.userId }).from(refreshTokenFamilies).limit(1))[0]!.userId;
    await db.insert(passwordResetTokens).values([
      { tokenHash: 'expired', userId: resetUser, expiresAt: at(-1) },
      { tokenHash: 'live', userId: resetUser, expiresAt: at(HOUR) },
    ]);

    const session = (id: string, times: { endedAt?: Date; expiresAt: Date }) => ({
      id,
      tokenHash: id,
      userId: resetUser,
      authTime: at(-40 * DAY),
      expiresAt: times.expiresAt,
      endedAt: times.endedAt ?? null,
    });
    const sessionIds = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await db
      .insert(browserSessions)
      .values([
        session(sessionIds[0]!, { endedAt: at(-31 * DAY), expiresAt: at(DAY) }),
        session(sessionIds[1]!, { endedAt: at(-29 * DAY), expiresAt: at(DAY) }),
        session(sessionIds[2]!, { expiresAt: at(-31 * DAY) }),
        session(sessionIds[3]!, { expiresAt: at(DAY) }),
      ]);
    const clientId = (await db.select({ clientId: refreshTokenFamilies.clientId }).from(refreshTokenFamilies).limit(1))[0]!.clientId;
    const pending = (id: string, expiresAt: Date) => ({
      id,
      bindingHash: id,
      clientId,
      redirectUri: 'https://app.test/cb',
      redirectUriGiven: true,
      scope: [],
      audience: [],
      codeChallenge: 'c',
      expiresAt,
    });
    const pendingIds = [randomUUID(), randomUUID()];
    await db.insert(authorizationRequests).values([pending(pendingIds[0]!, at(-1)), pending(pendingIds[1]!, at(HOUR))]);
    const code = (codeHash: string, expiresAt: Date) => ({
      codeHash,
      clientId,
      userId: resetUser,
      redirectUri: 'https://app.test/cb',
      redirectUriGiven: true,
      codeChallenge: 'c',
      scope: [],
      audience: [],
      authTime: at(-HOUR),
      browserSessionId: sessionIds[3]!,
      familyId: randomUUID(),
      expiresAt,
    });
    // Kept a day (spentRefreshTokens) past expiry, so that a code presented again still ends its session.
    await db.insert(authorizationCodes).values([code('code-gone', at(-DAY - 1)), code('code-kept', at(-DAY + 60))]);

    // A passkey challenge lives until its expiry, then no answer can use it.
    await db.insert(webauthnChallenges).values([
      { challenge: 'challenge-gone', purpose: 'register', expiresAt: at(-1) },
      { challenge: 'challenge-kept', purpose: 'register', expiresAt: at(60) },
    ]);

    const report = await pruneOnce(db, POLICY, NOW);
    expect(report).toEqual({
      refresh_tokens: 2,
      refresh_token_families: 2,
      audit_events: 2500,
      revoked_tokens: 1,
      revocation_cutoffs: 1,
      password_reset_tokens: 1,
      authorization_requests: 1,
      authorization_codes: 1,
      browser_sessions: 2,
      webauthn_challenges: 1,
    });
    expect((await db.select({ challenge: webauthnChallenges.challenge }).from(webauthnChallenges)).map((row) => row.challenge)).toEqual([
      'challenge-kept',
    ]);
    expect((await db.select({ id: browserSessions.id }).from(browserSessions)).map((row) => row.id).sort()).toEqual(
      [sessionIds[1]!, sessionIds[3]!].sort(),
    );
    expect((await db.select({ id: authorizationRequests.id }).from(authorizationRequests)).map((row) => row.id)).toEqual([pendingIds[1]]);
    expect((await db.select({ hash: authorizationCodes.codeHash }).from(authorizationCodes)).map((row) => row.hash)).toEqual(['code-kept']);

    const tokensLeft = (await db.select({ jti: refreshTokens.jti }).from(refreshTokens)).map((row) => row.jti).sort();
    expect(tokensLeft).toEqual(['current', 'spent-an-hour-ago', 'spent-long-ago-access-live']);
    const familiesLeft = (await db.select({ id: refreshTokenFamilies.id }).from(refreshTokenFamilies)).map((row) => row.id).sort();
    expect(familiesLeft).toEqual([live, revokedRecently].sort());
    expect(familiesLeft).not.toContain(expiredLongAgo);
    expect((await db.select({ type: auditEvents.type }).from(auditEvents)).map((row) => row.type)).toEqual(['kept']);
    expect((await db.select({ jti: revokedTokens.jti }).from(revokedTokens)).map((row) => row.jti).sort()).toEqual([
      'revoked-in-tolerance',
      'revoked-live',
    ]);
    expect((await db.select({ value: revocationCutoffs.value }).from(revocationCutoffs)).map((row) => row.value)).toEqual(['kept']);
    expect((await db.select({ hash: passwordResetTokens.tokenHash }).from(passwordResetTokens)).map((row) => row.hash)).toEqual(['live']);

    // A second run finds nothing more.
    expect(await pruneOnce(db, POLICY, NOW)).toEqual({
      refresh_tokens: 0,
      refresh_token_families: 0,
      audit_events: 0,
      revoked_tokens: 0,
      revocation_cutoffs: 0,
      password_reset_tokens: 0,
      authorization_requests: 0,
      authorization_codes: 0,
      browser_sessions: 0,
      webauthn_challenges: 0,
    });
  });
});

// A second connection holding the lock: PostgreSQL only (PGlite has one connection).
describe.runIf(adminDatabaseUrl)('retention on PostgreSQL, beside another instance', () => {
  const postgresBlock = migratedPostgresForBlock();

  it('does nothing while another instance holds the pruning lock', async () => {
    const db = postgresBlock.handle.db;
    await db.insert(auditEvents).values({ type: 'old', occurredAt: at(-100 * DAY) });
    const other = postgres(postgresBlock.database.url!, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const holder = other.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(7383411930)`;
      locked();
      await held;
    });
    await lockTaken;
    expect(await pruneOnce(db, POLICY, NOW)).toBeUndefined();
    release();
    await holder;
    await other.end();
    expect((await pruneOnce(db, POLICY, NOW))?.audit_events).toBe(1);
  });
});
