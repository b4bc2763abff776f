import { and, desc, eq, gt, isNull, ne, or, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { refreshSigningKeys, signingKeys, type SigningKeyRow } from '../db/schema.js';
import { sealedKeyBackend, type KeyBackend } from './key-backend.js';
import type { SigningAlgorithm } from './signing-key.js';

/**
 * `access`: signs access and id tokens, published in the JWKS. `refresh`: signs refresh tokens,
 * never published (only the issuer verifies them).
 */
export type KeyPurpose = 'access' | 'refresh';
export const KEY_PURPOSES: readonly KeyPurpose[] = ['access', 'refresh'];

export interface KeyPolicy {
  backend: KeyBackend;
  /** SIGNING_ALGORITHM: what new keys are made for. */
  algorithm: SigningAlgorithm;
  /** How long a retired key keeps verifying, per purpose: the longest lifetime of a token it may have signed. */
  retentionSeconds: Readonly<Record<KeyPurpose, number>>;
  /** How long a rotated-in key is published (and known to every instance) before it signs. */
  activationDelaySeconds: number;
}

/**
 * Refresh keys are Ed25519 whatever SIGNING_ALGORITHM says: only the issuer verifies refresh
 * tokens, so no downstream verifier has to understand the algorithm, and a refresh (one signature
 * and one verification of a refresh token) costs about 115 µs of Ed25519 against 290 µs of
 * RSA-2048. Ed25519 over P-256 (about 90 µs): its signatures are deterministic, so a retry within
 * the reuse grace window gets the very same refresh token, byte for byte (user-tokens.ts).
 */
export const REFRESH_KEY_ALGORITHM: SigningAlgorithm = 'EdDSA';

/** What new keys of a purpose are made for: SIGNING_ALGORITHM for access keys, EdDSA for refresh keys. */
export const algorithmFor = (policy: Pick<KeyPolicy, 'algorithm'>, purpose: KeyPurpose): SigningAlgorithm =>
  purpose === 'access' ? policy.algorithm : REFRESH_KEY_ALGORITHM;

/** The database channel that announces every key change (drizzle/0012): each instance reloads at once. */
export const KEY_CHANGES_CHANNEL = 'token_issuer_keys';

const tables = { access: signingKeys, refresh: refreshSigningKeys } as const;
/** Serializes key creation across instances (transaction-scoped advisory lock), one lock per table. */
const KEY_LOCK_KEYS: Record<KeyPurpose, number> = { access: 7_383_411_913, refresh: 7_383_411_914 };

/** Keys still able to verify a live token: current, pending, and those retired within `retentionSeconds`; never a revoked one. */
export async function listVerifyingKeys(db: Database, purpose: KeyPurpose, retentionSeconds: number, now: Date): Promise<SigningKeyRow[]> {
  const table = tables[purpose];
  const cutoff = new Date(now.getTime() - retentionSeconds * 1000);
  return db
    .select()
    .from(table)
    .where(and(isNull(table.revokedAt), or(isNull(table.retiredAt), gt(table.retiredAt, cutoff))))
    .orderBy(desc(table.createdAt));
}

export interface RevokedKey {
  purpose: KeyPurpose;
  revoked: SigningKeyRow;
  /** The key that signs in its place from now on, when it was the signing one. */
  replacement?: SigningKeyRow;
}

/**
 * `keys revoke KID`: the key stops signing and verifying at once. When it was signing (or about to),
 * a new key of its purpose signs at once, skipping the activation delay: in an emergency a verifier
 * meets the new `kid` before its JWKS copy has it, and fetches the JWKS again (at most once per its
 * cooldown). Returns the revoked key and its purpose (a key revoked before is returned as it is),
 * or undefined for an unknown kid.
 */
export async function revokeKey(db: Database, policy: KeyPolicy, kid: string): Promise<RevokedKey | undefined> {
  for (const purpose of KEY_PURPOSES) {
    const table = tables[purpose];
    const revoked = await db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK_KEYS[purpose]})`);
      const [before] = await tx.select().from(table).where(eq(table.kid, kid));
      if (!before) return undefined;
      if (before.revokedAt) return { row: before, wasSigning: false };
      const [row] = await tx
        .update(table)
        .set({ revokedAt: sql`now()`, retiredAt: sql`coalesce(${table.retiredAt}, now())` })
        .where(eq(table.kid, kid))
        .returning();
      return { row: row!, wasSigning: before.retiredAt === null || before.retiredAt > new Date() };
    });
    if (!revoked) continue;
    const signing = await db
      .select({ kid: table.kid })
      .from(table)
      .where(and(isNull(table.retiredAt), isNull(table.revokedAt), sql`${table.activatesAt} <= now()`));
    const replacement = revoked.wasSigning && signing.length === 0 ? await createCurrentKey(db, policy, purpose, always, 0) : undefined;
    return { purpose, revoked: revoked.row, ...(replacement ? { replacement } : {}) };
  }
  return undefined;
}

export async function listAllKeys(db: Database, purpose: KeyPurpose): Promise<SigningKeyRow[]> {
  return db.select().from(tables[purpose]).orderBy(desc(tables[purpose].createdAt));
}

/**
 * At start-up: the first key of each purpose unless one is current already, safe when many
 * instances start at once. When the newest key is not of its purpose's algorithm (SIGNING_ALGORITHM
 * changed, or a refresh key from before refresh keys were Ed25519), a rotation to it: the new key is
 * published first, and the old kind keeps verifying until its tokens expire.
 * Returns the keys made for a changed algorithm.
 */
export async function ensureCurrentKeys(db: Database, policy: KeyPolicy): Promise<SigningKeyRow[]> {
  const switched: SigningKeyRow[] = [];
  for (const purpose of KEY_PURPOSES) {
    await createCurrentKey(db, policy, purpose, (newest) => newest === undefined || newest.retiredAt !== null);
    const row = await createCurrentKey(
      db,
      policy,
      purpose,
      (newest) => newest !== undefined && newest.algorithm !== algorithmFor(policy, purpose),
    );
    if (row) switched.push(row);
  }
  return switched;
}

/**
 * KEY_ROTATION_INTERVAL: new keys when the newest access key is `intervalSeconds` old. Every
 * instance asks; the advisory lock and the check under it make exactly one of them rotate, and that
 * one rotates the refresh key with it. Returns the new keys, or undefined when none was due.
 */
export async function rotateKeysIfDue(
  db: Database,
  policy: KeyPolicy,
  intervalSeconds: number,
  now: () => Date,
): Promise<Record<KeyPurpose, SigningKeyRow> | undefined> {
  const access = await createCurrentKey(
    db,
    policy,
    'access',
    (newest) => newest !== undefined && rotationDue(newest, intervalSeconds, now()),
  );
  if (!access) return undefined;
  const refresh = await createCurrentKey(db, policy, 'refresh', always);
  return { access, refresh: refresh! };
}

/** When the next scheduled rotation is due: the newest access key's creation plus the interval. */
export const nextRotationAt = (newest: Pick<SigningKeyRow, 'createdAt'>, intervalSeconds: number) =>
  new Date(newest.createdAt.getTime() + intervalSeconds * 1000);

const rotationDue = (newest: SigningKeyRow, intervalSeconds: number, now: Date) =>
  nextRotationAt(newest, intervalSeconds).getTime() <= now.getTime();

/** The newest key of a purpose that is not revoked (pending or signing, or retired when none signs). */
export async function newestKey(db: Database, purpose: KeyPurpose): Promise<SigningKeyRow | undefined> {
  const table = tables[purpose];
  const [row] = await db.select().from(table).where(isNull(table.revokedAt)).orderBy(desc(table.createdAt)).limit(1);
  return row;
}

/**
 * `keys rotate`: new keys for access and refresh tokens, each signing after the activation delay;
 * the previous ones retire then, and keep verifying their tokens until those expire. The new
 * access key is published at once. Returns the new keys.
 */
export async function rotateKeys(db: Database, policy: KeyPolicy): Promise<Record<KeyPurpose, SigningKeyRow>> {
  const [access, refresh] = await Promise.all(KEY_PURPOSES.map((purpose) => createCurrentKey(db, policy, purpose, always)));
  if (!access || !refresh) throw new Error('key rotation created no key');
  return { access, refresh };
}

const always = () => true;

/**
 * A new key of `purpose` when `wanted(newest key)` holds, asked before the key is generated (a cheap
 * read) and again under the lock (another instance may have made one meanwhile). It signs after
 * `delaySeconds` (by default: at once when no key signs, else after KEY_ACTIVATION_DELAY); the
 * previous keys retire then, and keep verifying their tokens until those expire.
 */
async function createCurrentKey(
  db: Database,
  policy: KeyPolicy,
  purpose: KeyPurpose,
  wanted: (newest: SigningKeyRow | undefined) => boolean,
  delaySeconds?: number,
): Promise<SigningKeyRow | undefined> {
  if (!wanted(await newestKey(db, purpose))) return undefined;
  const table = tables[purpose];
  // Generate outside the transaction: RSA generation takes long enough to matter under a lock.
  const algorithm = algorithmFor(policy, purpose);
  const key = await policy.backend.generate(algorithm);
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK_KEYS[purpose]})`);
    const [newest] = await tx.select().from(table).where(isNull(table.revokedAt)).orderBy(desc(table.createdAt)).limit(1);
    if (!wanted(newest)) return undefined;
    const signing = newest !== undefined && newest.retiredAt === null;
    const delay = delaySeconds ?? (signing ? policy.activationDelaySeconds : 0);
    const [row] = await tx
      .insert(table)
      .values({
        kid: key.kid,
        algorithm,
        publicJwk: key.publicJwk,
        privateKeySealed: key.privateKeySealed,
        activatesAt: sql`now() + make_interval(secs => ${delay})`,
      })
      .returning();
    await tx
      .update(table)
      .set({ retiredAt: row!.activatesAt })
      .where(and(isNull(table.retiredAt), ne(table.kid, key.kid)));
    return row;
  });
}

type KeyConfig = {
  signingKeySize: number;
  signingAlgorithm: SigningAlgorithm;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  keyActivationDelaySeconds: number;
};

/**
 * A retired key verifies as long as the longest-lived token it may have signed, plus clock skew:
 * an access key as long as access and id tokens live (they share ACCESS_TOKEN_TTL), a refresh key
 * as long as refresh tokens. Access keys are also kept that long for the issuer's own use, since
 * refresh tokens issued before refresh keys existed were signed with them (see keys/key-ring.ts).
 */
export function keyRetentionSeconds(config: KeyConfig): Record<KeyPurpose, number> {
  return { access: config.accessTokenTtlSeconds + 60, refresh: Math.max(config.accessTokenTtlSeconds, config.refreshTokenTtlSeconds) + 60 };
}

export function keyPolicyFrom(config: KeyConfig, keyEncryptionKey: Buffer): KeyPolicy {
  return {
    backend: sealedKeyBackend(keyEncryptionKey, config.signingKeySize),
    algorithm: config.signingAlgorithm,
    retentionSeconds: keyRetentionSeconds(config),
    activationDelaySeconds: config.keyActivationDelaySeconds,
  };
}
