import { and, eq, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { browserSessions, refreshTokenFamilies } from '../db/schema.js';
import type { SessionSelector } from './revocation.js';

/**
 * Ends the browser sessions (single sign-on) a selector covers, inside the caller's transaction:
 * named ones (their ids share the namespace of session ids), all of a user's (but the one the
 * caller's own session started from), or all. A client's sessions leave browsers signed in: the
 * user signed in to the issuer, not to that client. Returns the ids ended.
 */
export async function endBrowserSessionsIn(db: Database, selector: SessionSelector, reason: string, now: Date): Promise<string[]> {
  if ('clientId' in selector) return [];
  const conditions = [isNull(browserSessions.endedAt)];
  if ('familyIds' in selector) conditions.push(inArray(browserSessions.id, selector.familyIds));
  if ('userId' in selector && selector.userId) conditions.push(eq(browserSessions.userId, selector.userId));
  if ('exceptFamilyId' in selector && selector.exceptFamilyId) {
    const kept = db
      .select({ id: refreshTokenFamilies.browserSessionId })
      .from(refreshTokenFamilies)
      .where(eq(refreshTokenFamilies.id, selector.exceptFamilyId));
    conditions.push(sql`${browserSessions.id} is distinct from (${kept})`);
  }
  const signedInBefore = 'signedInBefore' in selector ? selector.signedInBefore : undefined;
  if (signedInBefore) conditions.push(lte(browserSessions.authTime, signedInBefore));
  const ended = await db
    .update(browserSessions)
    .set({ endedAt: now, endedReason: reason })
    .where(and(...conditions))
    .returning({ id: browserSessions.id });
  return ended.map((session) => session.id);
}
