import type { AuditEvent } from '../audit/audit-log.js';
import { invalidRequest } from '../errors.js';
import { revokeSessions, type RevocationDependencies } from '../sessions/revocation.js';
import { clientNotFound } from './client-removal.js';
import { rotateClientSecret, type Client } from './client-registry.js';

/**
 * A new secret for a confidential client (shown once; the old one stops working at once). With
 * `revokeTokens` (a leaked secret) the client's sessions end and a `client_id` cut-off refuses
 * every token it obtained so far, at every verifier.
 */
export async function rotateSecret(
  deps: RevocationDependencies,
  client: Client,
  options: { revokeTokens: boolean; audit?: Pick<AuditEvent, 'actor' | 'ipAddress'> },
): Promise<string> {
  if (client.isPublic) throw invalidRequest('a public client has no secret');
  let secret: string | undefined;
  await revokeSessions(
    deps,
    options.revokeTokens ? { clientId: client.id } : undefined,
    {
      ...options.audit,
      type: 'client_secret_rotated',
      clientId: client.id,
      reason: 'client_secret_rotated',
      details: { revoke_tokens: options.revokeTokens },
    },
    {
      alongside: async (tx) => {
        secret = await rotateClientSecret(tx, client.id);
        if (secret === undefined) throw clientNotFound();
      },
      alwaysAudit: true,
    },
  );
  return secret!;
}
