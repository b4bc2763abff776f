// The tables of upstream providers (identity_providers) and the accounts linked to them.
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { preparedPerDatabase } from '../db/prepared.js';
import { identityProviders, linkedIdentities, type IdentityProviderRow, type LinkedIdentityRow } from '../db/schema.js';

export async function insertProvider(
  db: Database,
  provider: typeof identityProviders.$inferInsert,
): Promise<IdentityProviderRow | undefined> {
  const [row] = await db.insert(identityProviders).values(provider).onConflictDoNothing().returning();
  return row;
}

export function listProviders(db: Database): Promise<IdentityProviderRow[]> {
  return db.select().from(identityProviders).orderBy(asc(identityProviders.name));
}

export async function findProviderByName(db: Database, name: string): Promise<IdentityProviderRow | undefined> {
  const [row] = await db.select().from(identityProviders).where(eq(identityProviders.name, name));
  return row;
}

export async function findProviderById(db: Database, id: string): Promise<IdentityProviderRow | undefined> {
  const [row] = await db.select().from(identityProviders).where(eq(identityProviders.id, id));
  return row;
}

export async function deleteProvider(db: Database, name: string): Promise<IdentityProviderRow | undefined> {
  const [row] = await db.delete(identityProviders).where(eq(identityProviders.name, name)).returning();
  return row;
}

export async function findLinkedIdentity(db: Database, providerId: string, subject: string): Promise<LinkedIdentityRow | undefined> {
  const [row] = await db
    .select()
    .from(linkedIdentities)
    .where(and(eq(linkedIdentities.providerId, providerId), eq(linkedIdentities.subject, subject)));
  return row;
}

export async function insertLinkedIdentity(db: Database, link: typeof linkedIdentities.$inferInsert): Promise<void> {
  await db.insert(linkedIdentities).values(link);
}

export async function touchLinkedIdentity(db: Database, providerId: string, subject: string, at: Date): Promise<void> {
  await db
    .update(linkedIdentities)
    .set({ lastUsedAt: at })
    .where(and(eq(linkedIdentities.providerId, providerId), eq(linkedIdentities.subject, subject)));
}

export async function deleteLinkedIdentity(db: Database, providerId: string, userId: string): Promise<LinkedIdentityRow | undefined> {
  const [row] = await db
    .delete(linkedIdentities)
    .where(and(eq(linkedIdentities.providerId, providerId), eq(linkedIdentities.userId, userId)))
    .returning();
  return row;
}

/** The linked providers of a user, by provider name. */
export function listLinkedIdentities(db: Database, userId: string) {
  return db
    .select({
      providerId: identityProviders.id,
      provider: identityProviders.name,
      displayName: identityProviders.displayName,
      email: linkedIdentities.email,
      createdAccount: linkedIdentities.createdAccount,
      createdAt: linkedIdentities.createdAt,
    })
    .from(linkedIdentities)
    .innerJoin(identityProviders, eq(identityProviders.id, linkedIdentities.providerId))
    .where(eq(linkedIdentities.userId, userId))
    .orderBy(asc(identityProviders.name), sql`${linkedIdentities.createdAt}`);
}

/** The display name of an exclusive provider the user is linked to, if any: then only it signs them in. */
export async function exclusiveProviderOf(db: Database, userId: string): Promise<string | undefined> {
  const [row] = await exclusiveProviderStatement(db).execute({ userId });
  return row?.displayName;
}

// Asked at every password sign-in: built once (see db/prepared.ts).
const exclusiveProviderStatement = preparedPerDatabase((db) =>
  db
    .select({ displayName: identityProviders.displayName })
    .from(linkedIdentities)
    .innerJoin(identityProviders, eq(identityProviders.id, linkedIdentities.providerId))
    .where(and(eq(linkedIdentities.userId, sql.placeholder('userId')), eq(identityProviders.exclusive, true)))
    .limit(1)
    .prepare('exclusive_provider_of'),
);
