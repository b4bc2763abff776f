// The tables of second factors: authenticator apps (totp_factors) and recovery codes.
import { and, count, desc, eq, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import { preparedPerDatabase } from '../db/prepared.js';
import { unionAll } from 'drizzle-orm/pg-core';
import { passkeys, recoveryCodes, totpFactors, type TotpFactorRow } from '../db/schema.js';

export async function insertTotpFactor(
  db: Database,
  factor: { id: string; userId: string; name: string; secretSealed: string },
): Promise<void> {
  // An enrolment never confirmed is dropped when the user starts another.
  await db.delete(totpFactors).where(and(eq(totpFactors.userId, factor.userId), isNull(totpFactors.confirmedAt)));
  await db.insert(totpFactors).values(factor);
}

/** Ids come from forms and paths: one that is not a UUID names no factor (and never reaches SQL). */
const isFactorId = (id: string) => z.uuid().safeParse(id).success;

export async function findTotpFactor(db: Database, userId: string, id: string): Promise<TotpFactorRow | undefined> {
  if (!isFactorId(id)) return undefined;
  const [row] = await db
    .select()
    .from(totpFactors)
    .where(and(eq(totpFactors.id, id), eq(totpFactors.userId, userId)));
  return row;
}

export function listConfirmedTotpFactors(db: Database, userId: string): Promise<TotpFactorRow[]> {
  return db
    .select()
    .from(totpFactors)
    .where(and(eq(totpFactors.userId, userId), isNotNull(totpFactors.confirmedAt)))
    .orderBy(desc(totpFactors.createdAt));
}

/**
 * Accepts a code's time step for a factor once: only a step later than the last one accepted, in
 * one conditional update, so a code replayed (here or on another instance) finds nothing to update.
 * Confirming a new factor spends the step of its first code the same way.
 */
export async function spendTotpStep(db: Database, id: string, step: number, now: Date, options: { confirming: boolean }): Promise<boolean> {
  const spent = await db
    .update(totpFactors)
    .set({ lastUsedStep: step, lastUsedAt: now, ...(options.confirming ? { confirmedAt: now } : {}) })
    .where(
      and(
        eq(totpFactors.id, id),
        options.confirming ? isNull(totpFactors.confirmedAt) : isNotNull(totpFactors.confirmedAt),
        or(isNull(totpFactors.lastUsedStep), lt(totpFactors.lastUsedStep, step)),
      ),
    )
    .returning({ id: totpFactors.id });
  return spent.length > 0;
}

export async function deleteTotpFactor(db: Database, userId: string, id: string): Promise<TotpFactorRow | undefined> {
  if (!isFactorId(id)) return undefined;
  const [row] = await db
    .delete(totpFactors)
    .where(and(eq(totpFactors.id, id), eq(totpFactors.userId, userId)))
    .returning();
  return row;
}

/**
 * Whether the user has a second factor: a confirmed authenticator app or a passkey, in one
 * statement (every password sign-in asks).
 */
export async function hasConfirmedFactor(db: Database, userId: string): Promise<boolean> {
  const [row] = await confirmedFactorStatement(db).execute({ userId });
  return row !== undefined;
}

// Asked at every password sign-in: built once (see db/prepared.ts).
const confirmedFactorStatement = preparedPerDatabase((db) => {
  const userId = sql.placeholder('userId');
  const apps = db
    .select({ id: totpFactors.id })
    .from(totpFactors)
    .where(and(eq(totpFactors.userId, userId), isNotNull(totpFactors.confirmedAt)));
  const keys = db.select({ id: passkeys.id }).from(passkeys).where(eq(passkeys.userId, userId));
  return unionAll(apps, keys).limit(1).prepare('has_confirmed_factor');
});

/** A fresh set of recovery codes (their hashes) in place of the user's old ones. */
export async function replaceRecoveryCodes(db: Database, userId: string, hashes: string[]): Promise<void> {
  await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  if (hashes.length > 0) await db.insert(recoveryCodes).values(hashes.map((codeHash) => ({ codeHash, userId })));
}

/** Spends a recovery code: of concurrent uses of one code, exactly one gets true. */
export async function spendRecoveryCode(db: Database, userId: string, codeHash: string, now: Date): Promise<boolean> {
  const spent = await db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(and(eq(recoveryCodes.codeHash, codeHash), eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
    .returning({ codeHash: recoveryCodes.codeHash });
  return spent.length > 0;
}

export async function countUnusedRecoveryCodes(db: Database, userId: string): Promise<number> {
  const [row] = await db
    .select({ unused: count() })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
  return Number(row?.unused ?? 0);
}
