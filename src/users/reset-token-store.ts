// The password_reset_tokens table: each link's token, stored only as its hash (tokens/opaque-token.ts).
import { and, eq, gt, isNull, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { passwordResetTokens } from '../db/schema.js';
import { hashOpaqueToken } from '../tokens/opaque-token.js';

/** A new link's token, after dropping links that have expired. */
export async function saveResetToken(db: Database, token: string, userId: string, expiresAt: Date): Promise<void> {
  await db.delete(passwordResetTokens).where(lte(passwordResetTokens.expiresAt, new Date()));
  await db.insert(passwordResetTokens).values({ tokenHash: hashOpaqueToken(token), userId, expiresAt });
}

const liveToken = (token: string, now: Date) =>
  and(
    eq(passwordResetTokens.tokenHash, hashOpaqueToken(token)),
    isNull(passwordResetTokens.usedAt),
    gt(passwordResetTokens.expiresAt, now),
  );

/** The user a token resets, if it is unused and unexpired. */
export async function findLiveResetToken(db: Database, token: string, now: Date): Promise<{ userId: string } | undefined> {
  const [row] = await db.select({ userId: passwordResetTokens.userId }).from(passwordResetTokens).where(liveToken(token, now));
  return row;
}

/** Spends a token: of concurrent requests with it, exactly one gets true. */
export async function spendResetToken(db: Database, token: string, now: Date): Promise<boolean> {
  const spent = await db
    .update(passwordResetTokens)
    .set({ usedAt: sql`now()` })
    .where(liveToken(token, now))
    .returning();
  return spent.length > 0;
}

/**
 * Ends every outstanding password-reset link of a user, inside the caller's transaction: a link
 * mailed before an email change, a password change or a disable must not reset the password
 * afterwards (OWASP Forgot Password Cheat Sheet).
 */
export async function endPasswordResets(db: Database, userId: string): Promise<void> {
  await db
    .update(passwordResetTokens)
    .set({ usedAt: sql`now()` })
    .where(and(eq(passwordResetTokens.userId, userId), isNull(passwordResetTokens.usedAt)));
}
