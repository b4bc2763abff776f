import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { passwordResetTokens } from '../db/schema.js';

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
