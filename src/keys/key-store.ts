import { and, desc, gt, isNull, ne, or, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { signingKeys, type SigningKeyRow } from '../db/schema.js';
import { seal } from './sealed-box.js';
import { generateSigningKey, SIGNING_ALGORITHM } from './signing-key.js';

export interface KeyPolicy {
  keyEncryptionKey: Buffer;
  modulusLength: number;
  /** How long a retired key keeps verifying: the longest lifetime of a token it may have signed. */
  retentionSeconds: number;
  /** How long a rotated-in key is published before it signs. */
  activationDelaySeconds: number;
}

/** Serializes key creation across instances (transaction-scoped advisory lock). */
const KEY_LOCK_KEY = 7_383_411_913;

/** Keys still able to verify a live token: current, pending, and those retired within retention. */
export async function listVerifyingKeys(db: Database, retentionSeconds: number, now: Date): Promise<SigningKeyRow[]> {
  const cutoff = new Date(now.getTime() - retentionSeconds * 1000);
  return db
    .select()
    .from(signingKeys)
    .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.retiredAt, cutoff)))
    .orderBy(desc(signingKeys.createdAt));
}

export async function listAllKeys(db: Database): Promise<SigningKeyRow[]> {
  return db.select().from(signingKeys).orderBy(desc(signingKeys.createdAt));
}

/** Creates the first key unless one is current already; safe when many instances start at once. */
export async function ensureCurrentKey(db: Database, policy: KeyPolicy): Promise<void> {
  const current = await db.select({ kid: signingKeys.kid }).from(signingKeys).where(isNull(signingKeys.retiredAt));
  if (current.length > 0) return;
  await createCurrentKey(db, policy, { onlyIfNone: true });
}

/**
 * `keys rotate`: a new key is published at once and takes over signing after the activation delay;
 * the previous one retires then, and keeps verifying its tokens until they expire.
 */
export async function rotateKey(db: Database, policy: KeyPolicy): Promise<SigningKeyRow> {
  const row = await createCurrentKey(db, policy, { onlyIfNone: false });
  if (!row) throw new Error('key rotation created no key');
  return row;
}

async function createCurrentKey(
  db: Database,
  policy: KeyPolicy,
  options: { onlyIfNone: boolean },
): Promise<SigningKeyRow | undefined> {
  // Generate outside the transaction: RSA generation takes long enough to matter under a lock.
  const key = await generateSigningKey(policy.modulusLength);
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK_KEY})`);
    if (options.onlyIfNone) {
      const current = await tx.select({ kid: signingKeys.kid }).from(signingKeys).where(isNull(signingKeys.retiredAt));
      if (current.length > 0) return undefined;
    }
    // The first key signs at once; a rotated-in one after the delay.
    const delaySeconds = options.onlyIfNone ? 0 : policy.activationDelaySeconds;
    const [row] = await tx
      .insert(signingKeys)
      .values({
        kid: key.kid,
        algorithm: SIGNING_ALGORITHM,
        publicJwk: key.publicJwk,
        privateKeySealed: seal(JSON.stringify(key.privateJwk), policy.keyEncryptionKey, key.kid),
        activatesAt: sql`now() + make_interval(secs => ${delaySeconds})`,
      })
      .returning();
    await tx
      .update(signingKeys)
      .set({ retiredAt: row!.activatesAt })
      .where(and(isNull(signingKeys.retiredAt), ne(signingKeys.kid, key.kid)));
    return row;
  });
}

type KeyConfig = {
  signingKeySize: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  keyActivationDelaySeconds: number;
};

/** A retired key verifies as long as the longest-lived token it may have signed, plus clock skew. */
export function keyRetentionSeconds(config: KeyConfig): number {
  return Math.max(config.accessTokenTtlSeconds, config.refreshTokenTtlSeconds) + 60;
}

export function keyPolicyFrom(config: KeyConfig, keyEncryptionKey: Buffer): KeyPolicy {
  return {
    keyEncryptionKey,
    modulusLength: config.signingKeySize,
    retentionSeconds: keyRetentionSeconds(config),
    activationDelaySeconds: config.keyActivationDelaySeconds,
  };
}
