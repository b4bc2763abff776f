// The admin actions on clients that the CLI and the admin API share: each holds its rules and
// records its audit event, so every change is audited whichever way it came in.
import { recordAuditEvent, type AuditActor, type AuditSink } from '../audit/audit-log.js';
import type { Database } from '../db/database.js';
import { invalidRequest } from '../errors.js';
import { outboundUrlProblem, type OutboundPolicy } from '../outbound/outbound-policy.js';
import { createClient, type CreatedClient, type NewClient } from './client-registry.js';

export interface ClientAdministration extends AuditSink {
  db: Database;
  /** Which key URLs this deployment fetches (outbound/outbound-policy.ts). */
  outbound: { policy: OutboundPolicy };
}

/** Registers a client (its secret, if any, shown once) and records `client_created`, together. */
export function registerClient(deps: ClientAdministration, input: NewClient, by: AuditActor): Promise<CreatedClient> {
  const problem = input.jwksUri === undefined ? undefined : outboundUrlProblem(input.jwksUri, deps.outbound.policy);
  if (problem) throw invalidRequest(`jwks_uri: ${problem}`);
  return deps.db.transaction(async (tx) => {
    const created = await createClient(tx, input);
    await recordAuditEvent(tx, deps, { ...by, type: 'client_created', clientId: created.id, details: { name: created.name } });
    return created;
  });
}
