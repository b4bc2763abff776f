// The admin actions on clients that the CLI and the admin API share: each holds its rules and
// records its audit event, so every change is audited whichever way it came in.
import { recordAuditEvent, type AuditActor, type AuditSink } from '../audit/audit-log.js';
import type { Database } from '../db/database.js';
import { describeIssues, invalidRequest } from '../errors.js';
import { outboundUrlProblem, type OutboundPolicy } from '../outbound/outbound-policy.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';
import type { Client } from './client.js';
import { clientNotFound } from './client-removal.js';
import { createClient, newClientSchema, type CreatedClient } from './client-registry.js';
import { updateClient, type ClientChanges } from './client-store.js';

export interface ClientAdministration extends AuditSink {
  db: Database;
  /** Which key URLs this deployment fetches (outbound/outbound-policy.ts). */
  outbound: { policy: OutboundPolicy };
}

/**
 * Registers a client (its secret, if any, shown once) and records `client_created`, together. The
 * input is checked as newClientSchema says (400 naming each field), its jwks_uri as this
 * deployment fetches (outbound/).
 */
export function registerClient(deps: ClientAdministration, input: unknown, by: AuditActor): Promise<CreatedClient> {
  const parsed = newClientSchema.safeParse(input);
  if (!parsed.success) throw invalidRequest(describeIssues(parsed.error.issues));
  const problem = parsed.data.jwksUri === undefined ? undefined : outboundUrlProblem(parsed.data.jwksUri, deps.outbound.policy);
  if (problem) throw invalidRequest(`jwks_uri: ${problem}`);
  return deps.db.transaction(async (tx) => {
    const created = await createClient(tx, parsed.data);
    await recordAuditEvent(tx, deps, { ...by, type: 'client_created', clientId: created.id, details: { name: created.name } });
    return created;
  });
}

/**
 * Changes a registration, checked as a new one is. A client that loses a grant type, scope or
 * audience has its sessions ended and its tokens cut off (they were issued under what it had); the
 * change, that and the audit event commit together. How it authenticates is not changed here.
 */
export async function changeClient(
  deps: RevocationDependencies,
  before: Client,
  changes: { [Field in keyof ClientChanges]?: unknown },
  by: AuditActor & { changed: string[] },
): Promise<Client> {
  const parsed = newClientSchema.safeParse({
    name: changes.name ?? before.name,
    isPublic: before.isPublic,
    grantTypes: changes.grantTypes ?? before.grantTypes,
    scopes: changes.scopes ?? before.scopes,
    audiences: changes.audiences ?? before.audiences,
    redirectUris: changes.redirectUris ?? before.redirectUris,
    postLogoutRedirectUris: changes.postLogoutRedirectUris ?? before.postLogoutRedirectUris,
    firstParty: changes.firstParty ?? before.firstParty,
    pkceRequired: changes.pkceRequired ?? before.pkceRequired,
    requireMfa: changes.requireMfa ?? before.requireMfa,
    singleFactorPasswordGrant: changes.singleFactorPasswordGrant ?? before.singleFactorPasswordGrant,
    impersonation: changes.impersonation ?? before.impersonation,
    idTokenAlgorithm: changes.idTokenAlgorithm === undefined ? before.idTokenAlgorithm : changes.idTokenAlgorithm,
    ...(before.isPublic ? {} : { authMethods: before.authMethods }),
    jwks: before.jwks ?? undefined,
    jwksUri: before.jwksUri ?? undefined,
  });
  if (!parsed.success) throw invalidRequest(describeIssues(parsed.error.issues));
  const after = parsed.data;
  const lost = (was: string[], now: string[]) => was.some((value) => !now.includes(value));
  const narrowed =
    lost(before.grantTypes, after.grantTypes) || lost(before.scopes, after.scopes) || lost(before.audiences, after.audiences);
  let updated: Client | undefined;
  const { changed, ...actor } = by;
  await revokeSessions(
    deps,
    narrowed ? { clientId: before.id } : undefined,
    { ...actor, type: 'client_updated', clientId: before.id, details: { changed }, reason: 'client_changed' },
    {
      alongside: async (tx) => {
        updated = await updateClient(tx, before.id, after);
        if (!updated) throw clientNotFound();
      },
      alwaysAudit: true,
    },
  );
  return updated!;
}
