import type { AuditEvent } from '../audit/audit-log.js';
import { notFound } from '../errors.js';
import { cutoffAt } from '../revocation/cutoffs.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';
import type { KeyPurpose, RevokedKey } from './key-store.js';

export interface KeyRevocationDependencies extends RevocationDependencies {
  /** key-store.ts revokeKey, or KeyRing.revoke (which also stops this instance signing with it at once). */
  revokeKey(kid: string): Promise<RevokedKey | undefined>;
  /**
   * KEYS_REFRESH_INTERVAL: how long an instance that missed the change notice (its listener was
   * reconnecting) may go on signing with a key before it re-reads the tables.
   */
  keysRefreshIntervalSeconds: number;
}

/** Slack on top of KEYS_REFRESH_INTERVAL for a reload that is slow or retried. */
const KEY_RELOAD_MARGIN_SECONDS = 10;

/**
 * A leaked signing key, withdrawn (`token-issuer keys revoke KID`, `POST /admin/keys/{kid}/revoke`):
 * it leaves the JWKS and stops signing on every instance (the database announces the change, see
 * drizzle/0012; a new key signs at once when it was the signing one), and a `kid` cut-off refuses
 * every token it signed, at every verifier, within the push delay. The cut-off reaches past the
 * moment of revocation by KEYS_REFRESH_INTERVAL, for an instance that missed the notice and signs
 * with the key until its next re-read. An unknown kid is 404.
 */
export async function revokeSigningKey(
  deps: KeyRevocationDependencies,
  kid: string,
  audit: Pick<AuditEvent, 'actor' | 'ipAddress'>,
  options: { deferPush?: boolean } = {},
): Promise<{ purpose: KeyPurpose; kid: string; replacedBy?: string }> {
  const result = await deps.revokeKey(kid);
  if (!result) throw notFound('signing key');
  const signedUntil = new Date(Date.now() + (deps.keysRefreshIntervalSeconds + KEY_RELOAD_MARGIN_SECONDS) * 1000);
  const replacedBy = result.replacement?.kid;
  await revokeSessions(
    deps,
    undefined,
    {
      ...audit,
      type: 'signing_key_revoked',
      reason: 'signing_key_revoked',
      details: { kid, purpose: result.purpose, replaced_by: replacedBy },
    },
    {
      alsoRevoke: [cutoffAt({ kind: 'kid', value: kid }, signedUntil, deps.accessTokenTtlSeconds)],
      alwaysAudit: true,
      deferPush: options.deferPush,
    },
  );
  return { purpose: result.purpose, kid, ...(replacedBy ? { replacedBy } : {}) };
}
