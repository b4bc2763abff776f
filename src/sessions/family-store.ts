import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import {
  clients,
  refreshTokenFamilies,
  refreshTokens,
  users,
  type RefreshTokenFamilyRow,
  type RefreshTokenRow,
  type UserRow,
} from '../db/schema.js';

export type NewFamily = typeof refreshTokenFamilies.$inferInsert;
export type NewRefreshToken = typeof refreshTokens.$inferInsert;

export async function insertFamily(db: Database, family: NewFamily): Promise<RefreshTokenFamilyRow> {
  const [row] = await db.insert(refreshTokenFamilies).values(family).returning();
  return row!;
}

export async function insertRefreshToken(db: Database, token: NewRefreshToken): Promise<RefreshTokenRow> {
  const [row] = await db.insert(refreshTokens).values(token).returning();
  return row!;
}

/**
 * Spends a refresh token and reads its family and user, in one statement: the conditional UPDATE
 * in a CTE, so that of concurrent requests with the same token exactly one gets a row back
 * (RFC 9700 §4.14.2), and the rotation costs one round trip here instead of three.
 */
export async function spendRefreshTokenWithSession(
  db: Database,
  jti: string,
  now: Date,
): Promise<{ token: RefreshTokenRow; family: RefreshTokenFamilyRow; user: UserRow } | undefined> {
  const spent = db
    .$with('spent')
    .as(db.update(refreshTokens).set({ usedAt: now }).where(and(eq(refreshTokens.jti, jti), isNull(refreshTokens.usedAt))).returning());
  const [row] = await db
    .with(spent)
    .select({
      token: {
        jti: spent.jti,
        familyId: spent.familyId,
        parentJti: spent.parentJti,
        issuedAt: spent.issuedAt,
        expiresAt: spent.expiresAt,
        usedAt: spent.usedAt,
        accessJti: spent.accessJti,
        accessScope: spent.accessScope,
        accessExpiresAt: spent.accessExpiresAt,
      },
      family: refreshTokenFamilies,
      user: users,
    })
    .from(spent)
    .innerJoin(refreshTokenFamilies, eq(refreshTokenFamilies.id, spent.familyId))
    .innerJoin(users, eq(users.id, refreshTokenFamilies.userId));
  return row;
}

/** The next token of a family, and the family's last use, in one statement. */
export async function insertChildToken(db: Database, token: NewRefreshToken, now: Date): Promise<RefreshTokenRow> {
  const touched = db
    .$with('touched')
    .as(db.update(refreshTokenFamilies).set({ lastUsedAt: now }).where(eq(refreshTokenFamilies.id, token.familyId)).returning({ id: refreshTokenFamilies.id }));
  const [row] = await db.with(touched).insert(refreshTokens).values(token).returning();
  return row!;
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
    })
    .from(refreshTokenFamilies)
    .innerJoin(clients, eq(clients.id, refreshTokenFamilies.clientId))
    .where(
      and(
        eq(refreshTokenFamilies.userId, userId),
        isNull(refreshTokenFamilies.revokedAt),
        gt(refreshTokenFamilies.expiresAt, now),
      ),
    )
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
