// Browser sessions (single sign-on): a browser that signed in at the login page stays signed in for
// every client until it is idle too long, reaches its absolute end, or is ended.
import { hashOpaqueToken, newOpaqueToken } from '../tokens/opaque-token.js';
import { signInStandsSql } from '../users/user-store.js';
import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { browserSessions, users, type BrowserSessionRow } from '../db/schema.js';

export interface BrowserSessionPolicy {
  idleSeconds: number;
  maxSeconds: number;
}

/** What the flow needs of a live browser session and its user. */
export interface LiveBrowserSession {
  id: string;
  userId: string;
  authTime: Date;
  /** How the user authenticated (RFC 8176): a second factor adds `otp` and `mfa`. */
  amr: string[];
}

/** A sign-in at the login page: returns the cookie value, shown only to the browser. */
export async function startBrowserSession(
  db: Database,
  policy: BrowserSessionPolicy,
  start: { userId: string; now: Date; amr: string[]; userAgent?: string; ipAddress?: string },
): Promise<{ token: string; session: BrowserSessionRow }> {
  const token = newOpaqueToken();
  const [session] = await db
    .insert(browserSessions)
    .values({
      tokenHash: hashOpaqueToken(token),
      userId: start.userId,
      authTime: start.now,
      amr: start.amr,
      lastSeenAt: start.now,
      expiresAt: new Date(start.now.getTime() + policy.maxSeconds * 1000),
      userAgent: start.userAgent?.slice(0, 512) ?? null,
      ipAddress: start.ipAddress ?? null,
    })
    .returning();
  return { token, session: session! };
}

/**
 * The session a cookie names, if it is still live: not ended, within its absolute lifetime, used
 * within the idle time, its user active and without a password change since the sign-in. Using it
 * counts as activity.
 */
export async function findLiveBrowserSession(
  db: Database,
  policy: BrowserSessionPolicy,
  token: string | undefined,
  now: Date,
): Promise<LiveBrowserSession | undefined> {
  if (!token || token.length > 64) return undefined;
  const idleSince = new Date(now.getTime() - policy.idleSeconds * 1000);
  const [live] = await db
    .update(browserSessions)
    .set({ lastSeenAt: now })
    .where(
      and(
        eq(browserSessions.tokenHash, hashOpaqueToken(token)),
        isNull(browserSessions.endedAt),
        gt(browserSessions.expiresAt, now),
        gt(browserSessions.lastSeenAt, idleSince),
        sql`exists (select 1 from ${users} where ${users.id} = ${browserSessions.userId} and ${signInStandsSql(browserSessions.authTime)})`,
      ),
    )
    .returning({ id: browserSessions.id, userId: browserSessions.userId, authTime: browserSessions.authTime, amr: browserSessions.amr });
  return live;
}

/** A second factor given in a live session (step-up): it now counts as a multi-factor sign-in. */
export async function upgradeBrowserSession(db: Database, id: string, amr: string[]): Promise<void> {
  await db
    .update(browserSessions)
    .set({ amr })
    .where(and(eq(browserSessions.id, id), isNull(browserSessions.endedAt)));
}

/** Ends the browser session a cookie names, alone (a new sign-in in the same browser replaces it). */
export async function endBrowserSession(db: Database, token: string, reason: string, now: Date): Promise<void> {
  await db
    .update(browserSessions)
    .set({ endedAt: now, endedReason: reason })
    .where(and(eq(browserSessions.tokenHash, hashOpaqueToken(token)), isNull(browserSessions.endedAt)));
}

/** Whether a session (by id) still stands, without counting as activity: for the token endpoint. */
export async function browserSessionStands(db: Database, id: string, now: Date): Promise<boolean> {
  const [row] = await db
    .select({ id: browserSessions.id })
    .from(browserSessions)
    .where(and(eq(browserSessions.id, id), isNull(browserSessions.endedAt), gt(browserSessions.expiresAt, now)));
  return row !== undefined;
}

/** A user's live browser sessions, newest use first, for "where am I signed in". */
export async function listLiveBrowserSessions(db: Database, policy: BrowserSessionPolicy, userId: string, now: Date) {
  const idleSince = new Date(now.getTime() - policy.idleSeconds * 1000);
  return db
    .select({
      id: browserSessions.id,
      createdAt: browserSessions.createdAt,
      lastSeenAt: browserSessions.lastSeenAt,
      expiresAt: browserSessions.expiresAt,
      userAgent: browserSessions.userAgent,
      ipAddress: browserSessions.ipAddress,
    })
    .from(browserSessions)
    .where(
      and(
        eq(browserSessions.userId, userId),
        isNull(browserSessions.endedAt),
        gt(browserSessions.expiresAt, now),
        gt(browserSessions.lastSeenAt, idleSince),
      ),
    )
    .orderBy(desc(browserSessions.lastSeenAt));
}
