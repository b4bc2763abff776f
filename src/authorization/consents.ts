// Consent (OpenID Connect Core §3.1.2.4): what a user allowed a third-party client, remembered per
// user and client; a request for a scope not yet allowed asks again.
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { clients, consents, refreshTokenFamilies } from '../db/schema.js';
import type { Client } from '../clients/client-registry.js';
import { notFound } from '../errors.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';

/**
 * What the user allowed the client. `waitForChanges` waits for a withdrawal in progress to commit
 * (a shared row lock) instead of reading the consent it is about to remove.
 */
export async function consentedScopes(
  db: Database,
  userId: string,
  clientId: string,
  options: { waitForChanges?: boolean } = {},
): Promise<string[]> {
  const query = db
    .select({ scopes: consents.scopes })
    .from(consents)
    .where(and(eq(consents.userId, userId), eq(consents.clientId, clientId)));
  const [row] = await (options.waitForChanges ? query.for('share') : query);
  return row?.scopes ?? [];
}

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

/** Adds `scopes` to what the user allowed the client (what was allowed before stays allowed). */
export async function grantConsent(db: Database, userId: string, clientId: string, scopes: string[]): Promise<void> {
  await db
    .insert(consents)
    .values({ userId, clientId, scopes: [...new Set(scopes)].sort() })
    .onConflictDoUpdate({
      target: [consents.userId, consents.clientId],
      set: {
        scopes: sql`array(select distinct unnest(${consents.scopes} || excluded.scopes) order by 1)`,
        grantedAt: sql`now()`,
      },
    });
}

export async function listConsents(db: Database, userId: string) {
  return db
    .select({ clientId: consents.clientId, clientName: clients.name, scopes: consents.scopes, grantedAt: consents.grantedAt })
    .from(consents)
    .innerJoin(clients, eq(clients.id, consents.clientId))
    .where(eq(consents.userId, userId))
    .orderBy(asc(clients.name));
}

/** False when there was nothing to withdraw. */
export async function withdrawConsent(db: Database, userId: string, clientId: string): Promise<boolean> {
  const deleted = await db
    .delete(consents)
    .where(and(eq(consents.userId, userId), eq(consents.clientId, clientId)))
    .returning({ clientId: consents.clientId });
  return deleted.length > 0;
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
      const families = await tx
        .select({ id: refreshTokenFamilies.id })
        .from(refreshTokenFamilies)
        .where(
          and(eq(refreshTokenFamilies.userId, userId), eq(refreshTokenFamilies.clientId, clientId), isNull(refreshTokenFamilies.revokedAt)),
        );
      return { familyIds: families.map((family) => family.id), userId };
    },
    { type: 'consent_withdrawn', userId, clientId, ipAddress: audit.ipAddress, reason: 'consent_withdrawn' },
    { alwaysAudit: true },
  );
}
