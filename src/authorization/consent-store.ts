// The consents table: what each user allowed each third-party client (consents.ts holds the rules).
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { clients, consents } from '../db/schema.js';

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
