import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import {
  clients,
  refreshTokenFamilies,
  refreshTokens,
  type RefreshTokenFamilyRow,
  type RefreshTokenRow,
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
 * Spends a refresh token: one conditional UPDATE, so of any number of concurrent requests with the
 * same token exactly one gets the row back (RFC 9700 §4.14.2).
 */
export async function spendRefreshToken(db: Database, jti: string, now: Date): Promise<RefreshTokenRow | undefined> {
  const [row] = await db
    .update(refreshTokens)
    .set({ usedAt: now })
    .where(and(eq(refreshTokens.jti, jti), isNull(refreshTokens.usedAt)))
    .returning();
  return row;
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

export async function touchFamily(db: Database, id: string, now: Date): Promise<void> {
  await db.update(refreshTokenFamilies).set({ lastUsedAt: now }).where(eq(refreshTokenFamilies.id, id));
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
