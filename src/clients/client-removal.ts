import type { AuditEvent } from '../audit/audit-log.js';
import { notFound } from '../errors.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';
import { deleteClient } from './client-store.js';

export const clientNotFound = () => notFound('client');

/**
 * Deletes a client after ending its sessions and denylisting their live access tokens, in one
 * transaction (the foreign keys would drop the sessions, but not the access tokens they issued).
 * An unknown id is 404 and changes nothing.
 */
export async function removeClient(
  deps: RevocationDependencies,
  id: string,
  audit: Pick<AuditEvent, 'actor' | 'ipAddress' | 'details'> = {},
): Promise<void> {
  await revokeSessions(
    deps,
    { clientId: id },
    { ...audit, type: 'client_deleted', clientId: id, reason: 'client_deleted' },
    {
      alongside: async (tx) => {
        if (!(await deleteClient(tx, id))) throw clientNotFound();
      },
      alwaysAudit: true,
    },
  );
}
