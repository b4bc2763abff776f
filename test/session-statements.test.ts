import { randomBytes, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/clients/client-registry.js';
import { openDatabase, openInMemoryDatabase, type DatabaseHandle } from '../src/db/database.js';
import { refreshTokenFamilies, refreshTokens, users } from '../src/db/schema.js';
import { insertSession, rotateRefreshToken, type ChildToken, type NewSession } from '../src/sessions/family-store.js';
import { insertUser } from '../src/users/user-store.js';
import { adminDatabaseUrl, createTestDatabase } from './support/test-database.js';

const HOUR = 3600_000;
const T0 = new Date('2030-01-01T00:00:00.000Z');
const at = (offsetMs: number) => new Date(T0.getTime() + offsetMs);

/**
 * The one-statement sign-in and rotation (sessions/family-store.ts): what each writes is decided by
 * the database, so each outcome is checked here for what it leaves behind.
 */
function sessionStatementContract(name: string, open: () => Promise<{ handle: DatabaseHandle; drop(): Promise<void> }>) {
  describe(name, () => {
    let handle: DatabaseHandle;
    let drop: () => Promise<void>;
    let clientId: string;
    let otherClientId: string;
    let sequence = 0;

    beforeAll(async () => {
      ({ handle, drop } = await open());
      const registration = { grantTypes: ['password', 'refresh_token'], scopes: ['a', 'b'], audiences: ['https://api.test'] };
      clientId = (await createClient(handle.db, { name: 'app', ...registration })).id;
      otherClientId = (await createClient(handle.db, { name: 'other', ...registration })).id;
    });
    afterAll(async () => {
      await handle?.close();
      await drop?.();
    });

    /** A user with a family of one unspent token, as a sign-in at T0 leaves them. */
    async function session(family: { expiresAt?: Date; revokedAt?: Date } = {}) {
      sequence += 1;
      const user = await insertUser(
        handle.db,
        { username: `user${sequence}`, email: `user${sequence}@example.com`, roles: ['user'] },
        'not a real hash',
      );
      await handle.db
        .update(users)
        .set({ passwordChangedAt: at(-HOUR) })
        .where(eq(users.id, user.id));
      const familyId = randomUUID();
      const jti = `rt-${sequence}`;
      await insertSession(
        handle.db,
        {
          id: familyId,
          clientId,
          userId: user.id,
          scope: ['a', 'b'],
          audience: ['https://api.test'],
          authTime: T0,
          amr: ['pwd'],
          browserSessionId: null,
          expiresAt: family.expiresAt ?? at(24 * HOUR),
          userAgent: null,
          ipAddress: null,
        },
        { jti, accessJti: `at-${sequence}`, accessScope: ['a'], issuedAt: T0, expiresAt: at(HOUR), accessExpiresAt: at(HOUR) },
      );
      if (family.revokedAt)
        await handle.db.update(refreshTokenFamilies).set({ revokedAt: family.revokedAt }).where(eq(refreshTokenFamilies.id, familyId));
      return { userId: user.id, familyId, jti };
    }

    const child = (now: Date, accessScope = ['a']): ChildToken => ({
      jti: `child-${randomBytes(6).toString('hex')}`,
      accessJti: `access-${randomBytes(6).toString('hex')}`,
      accessScope,
      issuedAt: now,
      expiresAt: new Date(now.getTime() + 2 * HOUR),
      accessExpiresAt: new Date(now.getTime() + 300_000),
    });

    const childrenOf = (jti: string) => handle.db.select().from(refreshTokens).where(eq(refreshTokens.parentJti, jti));
    const familyRow = async (id: string) =>
      (await handle.db.select().from(refreshTokenFamilies).where(eq(refreshTokenFamilies.id, id)))[0]!;
    const tokenRow = async (jti: string) => (await handle.db.select().from(refreshTokens).where(eq(refreshTokens.jti, jti)))[0]!;

    async function signIn(first: ChildToken, options: { userAgent?: string; ipAddress?: string } = {}) {
      sequence += 1;
      const user = await insertUser(
        handle.db,
        { username: `user${sequence}`, email: `user${sequence}@example.com`, roles: ['user'] },
        'not a real hash',
      );
      const started: NewSession = {
        id: randomUUID(),
        clientId,
        userId: user.id,
        scope: ['a', 'b'],
        audience: ['https://api.test', 'https://other.test'],
        authTime: T0,
        amr: ['pwd', 'otp', 'mfa'],
        browserSessionId: null,
        expiresAt: at(24 * HOUR),
        userAgent: options.userAgent ?? null,
        ipAddress: options.ipAddress ?? null,
      };
      await insertSession(handle.db, started, first);
      return started;
    }

    it('writes a sign-in: the family and its first token, in one statement', async () => {
      const first = child(T0, ['a']);
      const started = await signIn(first, { userAgent: 'curl/8', ipAddress: '192.0.2.7' });
      expect(await familyRow(started.id)).toMatchObject({
        clientId,
        userId: started.userId,
        scope: ['a', 'b'],
        audience: ['https://api.test', 'https://other.test'],
        authTime: T0,
        amr: ['pwd', 'otp', 'mfa'],
        lastUsedAt: T0,
        expiresAt: at(24 * HOUR),
        revokedAt: null,
        userAgent: 'curl/8',
        ipAddress: '192.0.2.7',
      });
      expect(await tokenRow(first.jti)).toEqual({ ...first, familyId: started.id, parentJti: null, usedAt: null });
      const rotation = await rotateRefreshToken(handle.db, { jti: first.jti, clientId, now: at(1000) }, child(at(1000)));
      expect(rotation?.child?.parentJti).toBe(first.jti);
    });

    it('keeps an empty access scope and an unknown user agent and address empty', async () => {
      const first = child(T0, []);
      const started = await signIn(first);
      expect((await tokenRow(first.jti)).accessScope).toEqual([]);
      expect(await familyRow(started.id)).toMatchObject({ userAgent: null, ipAddress: null });
    });

    it('writes no family when its first token cannot be stored', async () => {
      const first = child(T0);
      await signIn(first);
      const again = { ...child(T0), jti: first.jti };
      await expect(signIn(again)).rejects.toThrow();
      const families = await handle.db.select().from(refreshTokenFamilies).where(eq(refreshTokenFamilies.clientId, clientId));
      const tokens = await handle.db.select().from(refreshTokens);
      expect(families.map((family) => family.id).sort()).toEqual([...new Set(tokens.map((token) => token.familyId))].sort());
    });

    it('spends the token, stores the child and touches the family, in one statement', async () => {
      const { familyId, jti } = await session();
      const now = at(10_000);
      const next = child(now, ['a', 'b']);
      const rotation = await rotateRefreshToken(handle.db, { jti, clientId, now }, next);
      expect(rotation?.token.jti).toBe(jti);
      expect(rotation?.token.usedAt).toEqual(now);
      expect(rotation?.family.id).toBe(familyId);
      expect(rotation?.child).toMatchObject({
        jti: next.jti,
        parentJti: jti,
        familyId,
        accessJti: next.accessJti,
        accessScope: ['a', 'b'],
        expiresAt: next.expiresAt,
      });
      expect(await childrenOf(jti)).toHaveLength(1);
      expect((await familyRow(familyId)).lastUsedAt).toEqual(now);
    });

    it('reads what the tokens and the liveness checks need of the user and family, not the password hash', async () => {
      const { userId, familyId, jti } = await session();
      const rotation = await rotateRefreshToken(handle.db, { jti, clientId, now: at(1000) }, child(at(1000)));
      const user = (await handle.db.select().from(users).where(eq(users.id, userId)))[0]!;
      const { username, email, fullName, roles, isActive, passwordChangedAt } = user;
      expect(rotation?.user).toEqual({ id: userId, username, email, fullName, roles, isActive, passwordChangedAt });
      expect(rotation?.user).not.toHaveProperty('passwordHash');
      const family = await familyRow(familyId);
      const { id, clientId: familyClient, userId: familyUser, scope, audience, authTime, amr, expiresAt, revokedAt } = family;
      const read = { id, clientId: familyClient, userId: familyUser, scope, audience, authTime, amr, expiresAt, revokedAt };
      expect(rotation?.family).toEqual(read);
    });

    it('keeps an empty access scope empty', async () => {
      const { jti } = await session();
      const rotation = await rotateRefreshToken(handle.db, { jti, clientId, now: at(1000) }, child(at(1000), []));
      expect(rotation?.child?.accessScope).toEqual([]);
    });

    it('clamps the child to the end of its family', async () => {
      const { jti } = await session({ expiresAt: at(HOUR) });
      const rotation = await rotateRefreshToken(handle.db, { jti, clientId, now: at(1000) }, child(at(1000)));
      expect(rotation?.child?.expiresAt).toEqual(at(HOUR));
    });

    it('answers nothing for an unknown or already spent token, and writes nothing', async () => {
      const { jti } = await session();
      expect(await rotateRefreshToken(handle.db, { jti, clientId, now: at(1000) }, child(at(1000)))).toBeDefined();
      expect(await rotateRefreshToken(handle.db, { jti, clientId, now: at(2000) }, child(at(2000)))).toBeUndefined();
      expect(await rotateRefreshToken(handle.db, { jti: 'no-such-token', clientId, now: at(2000) }, child(at(2000)))).toBeUndefined();
      expect(await childrenOf(jti)).toHaveLength(1);
      expect((await tokenRow(jti)).usedAt).toEqual(at(1000));
    });

    const refusals: [
      string,
      (s: { userId: string; familyId: string }) => Promise<unknown>,
      { clientId?: () => string; now?: Date; family?: { expiresAt?: Date; revokedAt?: Date } },
    ][] = [
      ['a revoked family', async () => {}, { family: { revokedAt: at(1) } }],
      ['a family past its absolute lifetime', async () => {}, { family: { expiresAt: at(HOUR) }, now: at(HOUR + 1) }],
      ['another client', async () => {}, { clientId: () => otherClientId }],
      ['a disabled user', (s) => handle.db.update(users).set({ isActive: false }).where(eq(users.id, s.userId)), {}],
      [
        'a password changed after sign-in',
        (s) =>
          handle.db
            .update(users)
            .set({ passwordChangedAt: at(1) })
            .where(eq(users.id, s.userId)),
        {},
      ],
    ];
    for (const [what, change, options] of refusals) {
      it(`spends but stores no child for ${what}, and leaves the family untouched`, async () => {
        const started = await session(options.family);
        await change(started);
        const now = options.now ?? at(1000);
        const rotation = await rotateRefreshToken(
          handle.db,
          { jti: started.jti, clientId: options.clientId?.() ?? clientId, now },
          child(now),
        );
        expect(rotation?.token.jti).toBe(started.jti);
        expect(rotation?.child).toBeUndefined();
        expect(await childrenOf(started.jti)).toEqual([]);
        expect((await familyRow(started.familyId)).lastUsedAt).toEqual(T0);
      });
    }
  });
}

sessionStatementContract('session statements on PGlite', async () => ({ handle: await openInMemoryDatabase(), drop: async () => {} }));

describe.runIf(adminDatabaseUrl)('on PostgreSQL', () => {
  sessionStatementContract('session statements on PostgreSQL', async () => {
    const database = await createTestDatabase({ redis: false });
    const handle = await openDatabase({ databaseUrl: database.url, dataDir: '' });
    await handle.migrate();
    return { handle, drop: () => database.drop() };
  });
});
