import type { SigningAlgorithm } from '../keys/signing-key.js';
// The clients table (client-registry.ts holds the registration rules).
import { and, asc, eq, gt, isNotNull, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { afterCursor, cursorTime, pageOf, type Page, type PageRequest } from '../db/keyset-page.js';
import { clients, type ClientRow } from '../db/schema.js';
import { generateClientSecret, hashClientSecret } from './client-secret.js';
import { withoutSecret, type Client } from './client.js';

/** A new registration's row; its secret, if any, is hashed already. */
export type NewClientRow = Pick<
  ClientRow,
  | 'id'
  | 'name'
  | 'secretHash'
  | 'grantTypes'
  | 'scopes'
  | 'audiences'
  | 'redirectUris'
  | 'postLogoutRedirectUris'
  | 'firstParty'
  | 'pkceRequired'
  | 'requireMfa'
  | 'singleFactorPasswordGrant'
  | 'impersonation'
  | 'idTokenAlgorithm'
  | 'jwks'
  | 'jwksUri'
  | 'federated'
>;

/** A new client; with `ifAbsent`, nothing when one with its id exists already (and undefined). */
export async function insertClient(db: Database, values: NewClientRow): Promise<ClientRow>;
export async function insertClient(db: Database, values: NewClientRow, options: { ifAbsent: true }): Promise<ClientRow | undefined>;
export async function insertClient(
  db: Database,
  values: NewClientRow,
  options: { ifAbsent?: boolean } = {},
): Promise<ClientRow | undefined> {
  const insert = db.insert(clients).values({ ...values, secretCreatedAt: values.secretHash === null ? null : sql`now()` });
  const [row] = await (options.ifAbsent ? insert.onConflictDoNothing() : insert).returning();
  return row;
}

export interface ClientChanges {
  name?: string;
  grantTypes?: string[];
  scopes?: string[];
  audiences?: string[];
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  firstParty?: boolean;
  pkceRequired?: boolean;
  requireMfa?: boolean;
  singleFactorPasswordGrant?: boolean;
  impersonation?: boolean;
  /** null removes the requirement. */
  idTokenAlgorithm?: SigningAlgorithm | null;
}

export async function updateClient(db: Database, id: string, changes: ClientChanges): Promise<Client | undefined> {
  const unique = (list: string[] | undefined) => list && [...new Set(list)];
  const [row] = await db
    .update(clients)
    .set({
      ...changes,
      grantTypes: unique(changes.grantTypes),
      scopes: unique(changes.scopes),
      audiences: unique(changes.audiences),
      redirectUris: unique(changes.redirectUris),
      postLogoutRedirectUris: unique(changes.postLogoutRedirectUris),
      updatedAt: sql`now()`,
    })
    .where(eq(clients.id, id))
    .returning();
  return row && withoutSecret(row);
}

/**
 * A new secret for a confidential client, shown once. The one it replaces keeps working for
 * `overlapSeconds` (0: it stops at once); a secret older than that, from an earlier rotation, stops
 * now. Undefined for an unknown or public client.
 */
export async function rotateClientSecret(
  db: Database,
  id: string,
  overlapSeconds: number,
): Promise<{ secret: string; client: Client } | undefined> {
  const secret = generateClientSecret();
  const overlap = overlapSeconds > 0;
  // In SET, the columns read as they were before the update.
  const [row] = await db
    .update(clients)
    .set({
      secretHash: hashClientSecret(secret),
      secretCreatedAt: sql`now()`,
      previousSecretHash: overlap ? sql`${clients.secretHash}` : null,
      previousSecretCreatedAt: overlap ? sql`${clients.secretCreatedAt}` : null,
      previousSecretExpiresAt: overlap ? sql`now() + make_interval(secs => ${overlapSeconds})` : null,
      updatedAt: sql`now()`,
    })
    .where(and(eq(clients.id, id), isNotNull(clients.secretHash)))
    .returning();
  return row && { secret, client: withoutSecret(row) };
}

/** Ends the overlap of a rotation at once: only the newest secret works. False when there was none. */
export async function retirePreviousSecret(db: Database, id: string): Promise<boolean> {
  const retired = await db
    .update(clients)
    .set({ previousSecretHash: null, previousSecretCreatedAt: null, previousSecretExpiresAt: null, updatedAt: sql`now()` })
    .where(and(eq(clients.id, id), isNotNull(clients.previousSecretHash), gt(clients.previousSecretExpiresAt, sql`now()`)))
    .returning({ id: clients.id });
  return retired.length > 0;
}

export async function findClient(db: Database, id: string): Promise<Client | undefined> {
  const row = await findClientWithSecret(db, id);
  return row && withoutSecret(row);
}

/** Clients in the order they were created, a page at a time. */
export async function listClientsPage(db: Database, page: PageRequest): Promise<Page<Client>> {
  const rows = await db
    .select({ client: clients, cursorAt: cursorTime(clients.createdAt) })
    .from(clients)
    .where(afterCursor(clients.createdAt, clients.id, page.cursor, 'asc'))
    .orderBy(asc(clients.createdAt), asc(clients.id))
    .limit(page.limit + 1);
  return pageOf(
    rows,
    page.limit,
    (row) => row.client.id,
    (row) => withoutSecret(row.client),
  );
}

export async function listClients(db: Database): Promise<Client[]> {
  const rows = await db.select().from(clients).orderBy(asc(clients.createdAt));
  return rows.map(withoutSecret);
}

export async function deleteClient(db: Database, id: string): Promise<boolean> {
  const deleted = await db.delete(clients).where(eq(clients.id, id)).returning({ id: clients.id });
  return deleted.length > 0;
}

/** Every scope some client may ask for, for the discovery document. */
export async function listClientScopes(db: Database): Promise<string[]> {
  const rows = await db
    .selectDistinct({ scope: sql<string>`unnest(${clients.scopes})` })
    .from(clients)
    .orderBy(sql`1`);
  return rows.map((row) => row.scope);
}

/** For client authentication only. */
export async function findClientWithSecret(db: Database, id: string): Promise<ClientRow | undefined> {
  const [row] = await db.select().from(clients).where(eq(clients.id, id));
  return row;
}
