import { and, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { preparedPerDatabase } from '../db/prepared.js';
import { signInStandsSql } from '../users/user-store.js';
import {
  clients,
  refreshTokenFamilies,
  refreshTokens,
  users,
  type RefreshTokenFamilyRow,
  type RefreshTokenRow,
  type UserRow,
} from '../db/schema.js';

/** A sign-in's family. */
export interface NewSession {
  /** Chosen by the caller, so the statement needs to return nothing. */
  id: string;
  clientId: string;
  userId: string;
  scope: string[];
  audience: string[];
  /** The sign-in, which is also the family's first use. */
  authTime: Date;
  /** How the user authenticated at that sign-in (RFC 8176). */
  amr: string[];
  /** The family's absolute end (REFRESH_TOKEN_MAX_LIFETIME). */
  expiresAt: Date;
  userAgent: string | null;
  ipAddress: string | null;
  /** The browser session it started from (authorization code flow), if any. */
  browserSessionId: string | null;
}

/**
 * A sign-in's family and its first refresh token, in one prepared statement: one round trip,
 * atomic without a transaction, and no query building per login (which allocated about a third of
 * what a login did).
 */
export async function insertSession(db: Database, session: NewSession, first: ChildToken): Promise<void> {
  await sessionStatement(db).execute({
    familyId: session.id,
    clientId: session.clientId,
    userId: session.userId,
    scope: session.scope,
    audience: session.audience,
    authTime: session.authTime,
    amr: session.amr,
    familyExpiresAt: session.expiresAt,
    userAgent: session.userAgent,
    ipAddress: session.ipAddress,
    browserSessionId: session.browserSessionId,
    jti: first.jti,
    issuedAt: first.issuedAt,
    expiresAt: first.expiresAt,
    accessJti: first.accessJti,
    accessScope: first.accessScope,
    accessExpiresAt: first.accessExpiresAt,
  });
}

const sessionStatement = preparedPerDatabase((db) => {
  const value = (name: string) => sql.placeholder(name);
  const family = db.$with('family').as(
    db
      .insert(refreshTokenFamilies)
      .values({
        id: value('familyId'),
        clientId: value('clientId'),
        userId: value('userId'),
        scope: value('scope'),
        audience: value('audience'),
        authTime: value('authTime'),
        amr: value('amr'),
        expiresAt: value('familyExpiresAt'),
        lastUsedAt: value('authTime'),
        userAgent: value('userAgent'),
        ipAddress: value('ipAddress'),
        browserSessionId: value('browserSessionId'),
      })
      .returning({ id: refreshTokenFamilies.id }),
  );
  return db
    .with(family)
    .insert(refreshTokens)
    .values({
      jti: value('jti'),
      // From the family's own insert: the token cannot be written without it.
      familyId: sql`(select ${family.id} from ${family})`,
      parentJti: null,
      issuedAt: value('issuedAt'),
      expiresAt: value('expiresAt'),
      accessJti: value('accessJti'),
      accessScope: value('accessScope'),
      accessExpiresAt: value('accessExpiresAt'),
    })
    .prepare('start_session');
});

export interface ChildToken {
  jti: string;
  accessJti: string;
  /** The access token's scope as asked for; the user's roles filter it when tokens are signed. */
  accessScope: string[];
  issuedAt: Date;
  /** Clamped here to the family's absolute end: rotation never extends a session. */
  expiresAt: Date;
  accessExpiresAt: Date;
}

/** What a rotation reads of the user: the tokens' claims and the liveness checks, never the password hash. */
const sessionUserColumns = {
  id: users.id,
  username: users.username,
  email: users.email,
  fullName: users.fullName,
  roles: users.roles,
  isActive: users.isActive,
  passwordChangedAt: users.passwordChangedAt,
};
export type SessionUser = Pick<UserRow, keyof typeof sessionUserColumns>;

/** What a rotation reads of the family: the tokens' claims and the liveness checks. */
const sessionFamilyColumns = {
  id: refreshTokenFamilies.id,
  clientId: refreshTokenFamilies.clientId,
  userId: refreshTokenFamilies.userId,
  scope: refreshTokenFamilies.scope,
  audience: refreshTokenFamilies.audience,
  authTime: refreshTokenFamilies.authTime,
  amr: refreshTokenFamilies.amr,
  expiresAt: refreshTokenFamilies.expiresAt,
  revokedAt: refreshTokenFamilies.revokedAt,
};
export type SessionFamily = Pick<RefreshTokenFamilyRow, keyof typeof sessionFamilyColumns>;

export interface Rotation {
  token: RefreshTokenRow;
  family: SessionFamily;
  user: SessionUser;
  /** The token that replaces it; absent when the session may not continue. */
  child: RefreshTokenRow | undefined;
}

/**
 * Rotates a refresh token in one statement, so in one round trip and atomically: spends it (a
 * conditional UPDATE, so that of concurrent requests with the same token exactly one gets a row
 * back, RFC 9700 §4.14.2), reads its family and user, and, when the session may continue, inserts
 * the child token and touches the family. No row: the token is unknown or was already spent.
 */
export async function rotateRefreshToken(
  db: Database,
  presented: { jti: string; clientId: string; now: Date },
  next: ChildToken,
): Promise<Rotation | undefined> {
  const [row] = await rotationStatement(db).execute({
    jti: presented.jti,
    clientId: presented.clientId,
    now: presented.now.toISOString(),
    childJti: next.jti,
    childExpiresAt: next.expiresAt.toISOString(),
    accessJti: next.accessJti,
    // Scope tokens never contain a space (RFC 6749 §3.3).
    accessScope: next.accessScope.join(' '),
    accessExpiresAt: next.accessExpiresAt.toISOString(),
  });
  if (!row) return undefined;
  return { token: row.token, family: row.family, user: row.user, child: row.child ?? undefined };
}

const rotationStatement = preparedPerDatabase((db) => {
  const value = (name: string, type: string) => sql`${sql.placeholder(name)}::${sql.raw(type)}`;
  const now = value('now', 'timestamptz');
  const spent = db.$with('spent').as(
    db
      .update(refreshTokens)
      .set({ usedAt: now })
      .where(and(eq(refreshTokens.jti, value('jti', 'text')), isNull(refreshTokens.usedAt)))
      .returning(),
  );
  // The session may continue: the same conditions as sessionIsLive (refresh-sessions.ts), which
  // checks the rows read here again before anything is signed. The values are in the table's
  // column order, which drizzle lists in full: jti, family_id, parent_jti, issued_at, expires_at,
  // used_at, access_jti, access_scope, access_expires_at (test/session-statements.test.ts).
  const child = db.$with('child').as(
    db
      .insert(refreshTokens)
      .select(
        sql`select ${value('childJti', 'text')}, ${spent.familyId}, ${spent.jti}, ${now},
          least(${value('childExpiresAt', 'timestamptz')}, ${refreshTokenFamilies.expiresAt}),
          null, ${value('accessJti', 'text')}, string_to_array(${value('accessScope', 'text')}, ' '),
          ${value('accessExpiresAt', 'timestamptz')}
        from ${spent}
        join ${refreshTokenFamilies} on ${refreshTokenFamilies.id} = ${spent.familyId}
        join ${users} on ${users.id} = ${refreshTokenFamilies.userId}
        where ${refreshTokenFamilies.revokedAt} is null and ${refreshTokenFamilies.expiresAt} > ${now}
          and ${refreshTokenFamilies.clientId} = ${value('clientId', 'text')}
          and ${signInStandsSql(refreshTokenFamilies.authTime)}`,
      )
      .returning(),
  );
  const touched = db.$with('touched').as(
    db
      .update(refreshTokenFamilies)
      .set({ lastUsedAt: now })
      .where(inArray(refreshTokenFamilies.id, db.select({ id: child.familyId }).from(child)))
      .returning({ id: refreshTokenFamilies.id }),
  );
  return db
    .with(spent, child, touched)
    .select({ token: columnsOf(spent), family: sessionFamilyColumns, user: sessionUserColumns, child: columnsOf(child) })
    .from(spent)
    .innerJoin(refreshTokenFamilies, eq(refreshTokenFamilies.id, spent.familyId))
    .innerJoin(users, eq(users.id, refreshTokenFamilies.userId))
    .leftJoin(child, sql`true`)
    .prepare('rotate_refresh_token');
});

/** The refresh-token columns of a CTE that returns them. */
function columnsOf<T extends Record<keyof RefreshTokenRow, unknown>>(cte: T): Pick<T, keyof RefreshTokenRow> {
  return {
    jti: cte.jti,
    familyId: cte.familyId,
    parentJti: cte.parentJti,
    issuedAt: cte.issuedAt,
    expiresAt: cte.expiresAt,
    usedAt: cte.usedAt,
    accessJti: cte.accessJti,
    accessScope: cte.accessScope,
    accessExpiresAt: cte.accessExpiresAt,
  };
}

export async function findRefreshToken(db: Database, jti: string): Promise<RefreshTokenRow | undefined> {
  const [row] = await db.select().from(refreshTokens).where(eq(refreshTokens.jti, jti));
  return row;
}

/** The token that replaced this one, if any. */
export async function findChildToken(db: Database, parentJti: string): Promise<RefreshTokenRow | undefined> {
  const [row] = await db.select().from(refreshTokens).where(eq(refreshTokens.parentJti, parentJti));
  return row;
}

export async function findFamily(db: Database, id: string): Promise<RefreshTokenFamilyRow | undefined> {
  const [row] = await db.select().from(refreshTokenFamilies).where(eq(refreshTokenFamilies.id, id));
  return row;
}

/** A user's live sessions, newest use first, with the name of the client each is for. */
export async function listLiveSessions(db: Database, userId: string, now: Date) {
  return db
    .select({
      id: refreshTokenFamilies.id,
      clientId: refreshTokenFamilies.clientId,
      clientName: clients.name,
      createdAt: refreshTokenFamilies.createdAt,
      lastUsedAt: refreshTokenFamilies.lastUsedAt,
      expiresAt: refreshTokenFamilies.expiresAt,
      userAgent: refreshTokenFamilies.userAgent,
      ipAddress: refreshTokenFamilies.ipAddress,
      browserSessionId: refreshTokenFamilies.browserSessionId,
    })
    .from(refreshTokenFamilies)
    .innerJoin(clients, eq(clients.id, refreshTokenFamilies.clientId))
    .where(and(eq(refreshTokenFamilies.userId, userId), isNull(refreshTokenFamilies.revokedAt), gt(refreshTokenFamilies.expiresAt, now)))
    .orderBy(desc(refreshTokenFamilies.lastUsedAt));
}

/**
 * The user proved their password again in this session: its sign-in time becomes the database's
 * `now()`, the same instant as a password change in the same transaction, so it keeps refreshing.
 */
export async function renewAuthTime(db: Database, familyId: string, userId: string): Promise<void> {
  await db
    .update(refreshTokenFamilies)
    .set({ authTime: sql`now()` })
    .where(and(eq(refreshTokenFamilies.id, familyId), eq(refreshTokenFamilies.userId, userId)));
}

/** The sessions a user holds with a client that are not revoked. */
export async function liveFamilyIdsOf(db: Database, userId: string, clientId: string): Promise<string[]> {
  const families = await db
    .select({ id: refreshTokenFamilies.id })
    .from(refreshTokenFamilies)
    .where(
      and(eq(refreshTokenFamilies.userId, userId), eq(refreshTokenFamilies.clientId, clientId), isNull(refreshTokenFamilies.revokedAt)),
    );
  return families.map((family) => family.id);
}
