// Consent (OpenID Connect Core §3.1.2.4): what a user allowed a third-party client, remembered per
// user and client; a request for a scope not yet allowed asks again.
import type { Database } from '../db/database.js';
import type { Client } from '../clients/client-registry.js';
import { notFound } from '../errors.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';
import { liveFamilyIdsOf } from '../sessions/family-store.js';
import { consentedScopes, withdrawConsent } from './consent-store.js';

export { consentedScopes, grantConsent, listConsents } from './consent-store.js';

/**
 * Whether the user's consent, as it is now, covers `scopes` (OpenID Connect Core §3.1.2.4): always
 * for a first-party client, which never asks; otherwise every scope was allowed and not withdrawn.
 */
export async function consentCovers(
  db: Database,
  client: Pick<Client, 'id' | 'firstParty'>,
  userId: string,
  scopes: readonly string[],
  options: { waitForChanges?: boolean } = {},
): Promise<boolean> {
  if (client.firstParty) return true;
  const allowed = await consentedScopes(db, userId, client.id, options);
  return allowed.length > 0 && scopes.every((scope) => allowed.includes(scope));
}

/**
 * A user withdraws what they allowed a client: the consent goes, and so do the sessions the client
 * holds for them (their tokens were issued under it). 404 when there was no consent. The consent is
 * deleted before the sessions are read, in one transaction: a code exchanged meanwhile either
 * started its session before (ended here) or finds the consent gone (grants/authorization-code.ts).
 */
export async function withdrawConsentAndSessions(
  deps: RevocationDependencies,
  userId: string,
  clientId: string,
  audit: { ipAddress: string | undefined },
): Promise<void> {
  await revokeSessions(
    deps,
    async (tx) => {
      if (!(await withdrawConsent(tx, userId, clientId))) throw notFound('consent');
      return { familyIds: await liveFamilyIdsOf(tx, userId, clientId), userId };
    },
    { type: 'consent_withdrawn', userId, clientId, ipAddress: audit.ipAddress, reason: 'consent_withdrawn' },
    { alwaysAudit: true },
  );
}
