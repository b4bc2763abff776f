// The tables of passkeys: the credentials (passkeys) and the challenges handed out for them.
import { and, desc, eq, gt, isNull } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import { passkeys, webauthnChallenges, type PasskeyRow } from '../db/schema.js';

export type ChallengePurpose = 'register' | 'sign-in';

/**
 * Hands out a challenge. A pending sign-in holds one at a time (its page's latest), so reloading
 * a page does not pile them up.
 */
export async function insertChallenge(
  db: Database,
  challenge: { challenge: string; purpose: ChallengePurpose; userId?: string; requestId?: string; expiresAt: Date },
): Promise<void> {
  if (challenge.requestId) await db.delete(webauthnChallenges).where(eq(webauthnChallenges.requestId, challenge.requestId));
  await db.insert(webauthnChallenges).values(challenge);
}

/**
 * Takes a challenge for its one answer: deleted if it is live and was handed out for this purpose,
 * user and request, in one statement, so that of two answers (here or on another instance) one
 * finds it and the other nothing.
 */
export async function spendChallenge(
  db: Database,
  challenge: string,
  bound: { purpose: ChallengePurpose; userId?: string | undefined; requestId?: string | undefined },
  now: Date,
): Promise<boolean> {
  const spent = await db
    .delete(webauthnChallenges)
    .where(
      and(
        eq(webauthnChallenges.challenge, challenge),
        eq(webauthnChallenges.purpose, bound.purpose),
        bound.userId ? eq(webauthnChallenges.userId, bound.userId) : isNull(webauthnChallenges.userId),
        bound.requestId ? eq(webauthnChallenges.requestId, bound.requestId) : isNull(webauthnChallenges.requestId),
        gt(webauthnChallenges.expiresAt, now),
      ),
    )
    .returning({ challenge: webauthnChallenges.challenge });
  return spent.length > 0;
}

export async function insertPasskey(db: Database, passkey: typeof passkeys.$inferInsert): Promise<PasskeyRow> {
  const [row] = await db.insert(passkeys).values(passkey).returning();
  return row!;
}

export function listPasskeys(db: Database, userId: string): Promise<PasskeyRow[]> {
  return db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(desc(passkeys.createdAt));
}

export async function findPasskeyByCredential(db: Database, credentialId: string): Promise<PasskeyRow | undefined> {
  const [row] = await db.select().from(passkeys).where(eq(passkeys.credentialId, credentialId));
  return row;
}

/** After a sign-in: the counter the authenticator reported, its backup state, and when. */
export async function recordPasskeyUse(db: Database, id: string, use: { counter: number; backedUp: boolean; at: Date }): Promise<void> {
  await db.update(passkeys).set({ counter: use.counter, backedUp: use.backedUp, lastUsedAt: use.at }).where(eq(passkeys.id, id));
}

export async function deletePasskey(db: Database, userId: string, id: string): Promise<PasskeyRow | undefined> {
  if (!z.uuid().safeParse(id).success) return undefined;
  const [row] = await db
    .delete(passkeys)
    .where(and(eq(passkeys.id, id), eq(passkeys.userId, userId)))
    .returning();
  return row;
}

export async function hasPasskey(db: Database, userId: string): Promise<boolean> {
  const [row] = await db.select({ id: passkeys.id }).from(passkeys).where(eq(passkeys.userId, userId)).limit(1);
  return row !== undefined;
}
