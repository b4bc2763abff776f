// The admin actions on clients that the CLI and the admin API share: each holds its rules and
// records its audit event, so every change is audited whichever way it came in.
import { recordAuditEvent, type AuditActor, type AuditSink } from '../audit/audit-log.js';
import type { Database } from '../db/database.js';
import { createClient, type CreatedClient, type NewClient } from './client-registry.js';

export interface ClientAdministration extends AuditSink {
  db: Database;
}

/** Registers a client (its secret, if any, shown once) and records `client_created`, together. */
export function registerClient(deps: ClientAdministration, input: NewClient, by: AuditActor): Promise<CreatedClient> {
  return deps.db.transaction(async (tx) => {
    const created = await createClient(tx, input);
    await recordAuditEvent(tx, deps, { ...by, type: 'client_created', clientId: created.id, details: { name: created.name } });
    return created;
  });
}
