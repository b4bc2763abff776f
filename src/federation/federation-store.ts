// The trusted_issuers and federated_identities tables (trusted-issuers.ts holds the rules).
import { asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { preparedPerDatabase } from '../db/prepared.js';
import { federatedIdentities, trustedIssuers, type FederatedIdentityRow, type TrustedIssuerRow } from '../db/schema.js';

export async function insertTrustedIssuer(
  db: Database,
  values: Pick<TrustedIssuerRow, 'issuer' | 'jwks' | 'jwksUri' | 'audience' | 'maxTokenAgeSeconds'>,
): Promise<TrustedIssuerRow> {
  const [row] = await db.insert(trustedIssuers).values(values).returning();
  return row!;
}

export async function listTrustedIssuers(db: Database): Promise<TrustedIssuerRow[]> {
  return db.select().from(trustedIssuers).orderBy(asc(trustedIssuers.createdAt), asc(trustedIssuers.id));
}

export async function isTrustedIssuer(db: Database, issuer: string): Promise<boolean> {
  const [row] = await db.select({ id: trustedIssuers.id }).from(trustedIssuers).where(eq(trustedIssuers.issuer, issuer));
  return row !== undefined;
}

/** Deletes a trusted issuer (its bindings cascade); the row, or undefined when there was none. */
export async function deleteTrustedIssuer(db: Database, by: { id: string } | { issuer: string }): Promise<TrustedIssuerRow | undefined> {
  const match = 'id' in by ? eq(trustedIssuers.id, by.id) : eq(trustedIssuers.issuer, by.issuer);
  const [removed] = await db.delete(trustedIssuers).where(match).returning();
  return removed;
}

export async function insertBinding(
  db: Database,
  values: Pick<FederatedIdentityRow, 'clientId' | 'issuer' | 'subject' | 'claims'>,
): Promise<FederatedIdentityRow> {
  const [row] = await db.insert(federatedIdentities).values(values).returning();
  return row!;
}

export async function deleteBinding(db: Database, id: string): Promise<FederatedIdentityRow | undefined> {
  const [removed] = await db.delete(federatedIdentities).where(eq(federatedIdentities.id, id)).returning();
  return removed;
}

export async function listBindings(db: Database): Promise<FederatedIdentityRow[]> {
  return db.select().from(federatedIdentities).orderBy(asc(federatedIdentities.createdAt), asc(federatedIdentities.id));
}

// On every federated client authentication: built once (db/prepared.ts).
const issuerWithBindings = preparedPerDatabase((db) =>
  db
    .select({ trusted: trustedIssuers, identity: federatedIdentities })
    .from(trustedIssuers)
    .leftJoin(federatedIdentities, eq(federatedIdentities.issuer, trustedIssuers.issuer))
    .where(eq(trustedIssuers.issuer, sql.placeholder('issuer')))
    .prepare('trusted_issuer_with_bindings'),
);

/** What the verifier needs for a token claiming `issuer`: the issuer's settings and its bindings. */
export async function federationOf(
  db: Database,
  issuer: string,
): Promise<{ trusted: TrustedIssuerRow; identities: FederatedIdentityRow[] } | undefined> {
  const rows = await issuerWithBindings(db).execute({ issuer });
  if (rows.length === 0) return undefined;
  return { trusted: rows[0]!.trusted, identities: rows.flatMap((row) => (row.identity ? [row.identity] : [])) };
}
