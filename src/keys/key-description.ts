import type { SigningKeyRow } from '../db/schema.js';

/** pending: published, not signing yet; current: signing; retired: still verifying; expired: neither. */
export function keyStatus(key: SigningKeyRow, now: number, retentionMs: number): 'pending' | 'current' | 'retired' | 'expired' {
  if (key.activatesAt.getTime() > now) return 'pending';
  if (key.retiredAt === null || key.retiredAt.getTime() > now) return 'current';
  return now - key.retiredAt.getTime() < retentionMs ? 'retired' : 'expired';
}

/** What operators see of a signing key (CLI and admin API): never a private part. */
export function describeKey(key: SigningKeyRow, now: number, retentionMs: number) {
  return {
    kid: key.kid,
    algorithm: key.algorithm,
    status: keyStatus(key, now, retentionMs),
    created_at: key.createdAt.toISOString(),
    activates_at: key.activatesAt.toISOString(),
    retired_at: key.retiredAt?.toISOString() ?? null,
  };
}
