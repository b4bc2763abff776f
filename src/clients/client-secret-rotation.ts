import type { AuditEvent } from '../audit/audit-log.js';
import { invalidRequest, notFound } from '../errors.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';
import { clientNotFound } from './client-removal.js';
import type { Client } from './client-registry.js';
import { retirePreviousSecret, rotateClientSecret } from './client-store.js';

export interface SecretRotation {
  /** Shown once; only its hash is stored. */
  secret: string;
  /** Until when the secret it replaced still works; null when it stopped at once. */
  previousExpiresAt: Date | null;
}

/**
 * A new secret for a confidential client. The old one keeps working for `overlapSeconds`
 * (CLIENT_SECRET_OVERLAP_SECONDS), so that every instance of the client can switch to the new one
 * without a failed request; `retireSecret` ends that early. With `revokeTokens` (a leaked secret)
 * there is no overlap: the old secret stops at once, the client's sessions end, and a `client_id`
 * cut-off refuses every token it obtained so far, at every verifier.
 */
export async function rotateSecret(
  deps: RevocationDependencies,
  client: Client,
  options: { revokeTokens: boolean; overlapSeconds: number; audit?: Pick<AuditEvent, 'actor' | 'ipAddress'> },
): Promise<SecretRotation> {
  if (!client.authMethods.includes('client_secret'))
    throw invalidRequest('this client has no secret (it is public, or uses private_key_jwt)');
  const overlapSeconds = options.revokeTokens ? 0 : options.overlapSeconds;
  let rotation: SecretRotation | undefined;
  await revokeSessions(
    deps,
    options.revokeTokens ? { clientId: client.id } : undefined,
    {
      ...options.audit,
      type: 'client_secret_rotated',
      clientId: client.id,
      reason: 'client_secret_rotated',
      details: { revoke_tokens: options.revokeTokens, overlap_seconds: overlapSeconds },
    },
    {
      alongside: async (tx) => {
        const rotated = await rotateClientSecret(tx, client.id, overlapSeconds);
        if (!rotated) throw clientNotFound();
        rotation = { secret: rotated.secret, previousExpiresAt: rotated.client.previousSecretExpiresAt };
      },
      alwaysAudit: true,
    },
  );
  return rotation!;
}

/** Ends a rotation's overlap now: the previous secret stops working. 404 when none is still working. */
export async function retireSecret(
  deps: RevocationDependencies,
  client: Client,
  audit: Pick<AuditEvent, 'actor' | 'ipAddress'> = {},
): Promise<void> {
  await revokeSessions(
    deps,
    undefined,
    { ...audit, type: 'client_secret_retired', clientId: client.id, reason: 'client_secret_retired' },
    {
      alongside: async (tx) => {
        if (!(await retirePreviousSecret(tx, client.id))) throw notFound('previous secret');
      },
      alwaysAudit: true,
    },
  );
}
