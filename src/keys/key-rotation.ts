import { recordAuditEvent, type AuditActor, type AuditSink } from '../audit/audit-log.js';
import type { Database } from '../db/database.js';
import type { SigningKeyRow } from '../db/schema.js';
import type { KeyPurpose } from './key-store.js';

export interface KeyRotationDependencies extends AuditSink {
  db: Database;
  /** key-store.ts rotateKeys, or KeyRing.rotate (which also loads the new keys in this instance at once). */
  rotateKeys(): Promise<Record<KeyPurpose, SigningKeyRow>>;
}

/**
 * `keys rotate`, `POST /admin/keys/rotate`: new access and refresh keys, published at once and
 * signing after KEY_ACTIVATION_DELAY (key-store.ts), and the `signing_key_rotated` audit event.
 */
export async function rotateSigningKeys(deps: KeyRotationDependencies, by: AuditActor): Promise<Record<KeyPurpose, SigningKeyRow>> {
  const keys = await deps.rotateKeys();
  await recordAuditEvent(deps.db, deps, {
    ...by,
    type: 'signing_key_rotated',
    details: { kid: keys.access.kid, refresh_kid: keys.refresh.kid },
  });
  return keys;
}
