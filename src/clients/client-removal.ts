import type { AuditActor } from '../audit/audit-log.js';
import { notFound } from '../errors.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';
import { deleteClient, findClient } from './client-store.js';

export const clientNotFound = () => notFound('client');

/**
 * Deletes a client after ending its sessions and denylisting their live access tokens, in one
 * transaction (the foreign keys would drop the sessions, but not the access tokens they issued).
 * An unknown id is 404 and changes nothing.
 */
export async function removeClient(deps: RevocationDependencies, id: string, by: AuditActor): Promise<void> {
  const client = await findClient(deps.db, id);
  if (!client) throw clientNotFound();
  await revokeSessions(
    deps,
    { clientId: id },
    { ...by, type: 'client_deleted', clientId: id, details: { name: client.name }, reason: 'client_deleted' },
    {
      alongside: async (tx) => {
        if (!(await deleteClient(tx, id))) throw clientNotFound();
      },
      alwaysAudit: true,
    },
  );
}
