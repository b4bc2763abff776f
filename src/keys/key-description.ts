import type { SigningKeyRow } from '../db/schema.js';
import type { Database } from '../db/database.js';
import { KEY_PURPOSES, listAllKeys, nextRotationAt, type KeyPurpose } from './key-store.js';

/** pending: published, not signing yet; current: signing; retired: still verifying; expired: neither; revoked: withdrawn (`keys revoke`). */
export function keyStatus(key: SigningKeyRow, now: number, retentionMs: number): 'pending' | 'current' | 'retired' | 'expired' | 'revoked' {
  if (key.revokedAt) return 'revoked';
  if (key.activatesAt.getTime() > now) return 'pending';
  if (key.retiredAt === null || key.retiredAt.getTime() > now) return 'current';
  return now - key.retiredAt.getTime() < retentionMs ? 'retired' : 'expired';
}

/** What operators see of a signing key (CLI and admin API): never a private part. */
export function describeKey(key: SigningKeyRow, purpose: KeyPurpose, now: number, retentionMs: number) {
  return {
    kid: key.kid,
    purpose,
    algorithm: key.algorithm,
    status: keyStatus(key, now, retentionMs),
    created_at: key.createdAt.toISOString(),
    activates_at: key.activatesAt.toISOString(),
    retired_at: key.retiredAt?.toISOString() ?? null,
    revoked_at: key.revokedAt?.toISOString() ?? null,
  };
}

/**
 * Every key, access keys first, newest first within each purpose (CLI `keys list` and GET
 * /admin/keys). With a KEY_ROTATION_INTERVAL, the newest access key says when the next rotation is due.
 */
export async function describeAllKeys(
  db: Database,
  retentionSeconds: Readonly<Record<KeyPurpose, number>>,
  rotationIntervalSeconds: number,
  now = Date.now(),
) {
  const lists = await Promise.all(
    KEY_PURPOSES.map(async (purpose) =>
      (await listAllKeys(db, purpose)).map((key) => describeKey(key, purpose, now, retentionSeconds[purpose] * 1000)),
    ),
  );
  const [access, refresh] = lists as [ReturnType<typeof describeKey>[], ReturnType<typeof describeKey>[]];
  const newest = access.find((key) => key.status !== 'revoked');
  const scheduled = access.map((key) =>
    key === newest && rotationIntervalSeconds > 0
      ? { ...key, next_rotation_at: nextRotationAt({ createdAt: new Date(key.created_at) }, rotationIntervalSeconds).toISOString() }
      : key,
  );
  return [...scheduled, ...refresh];
}
