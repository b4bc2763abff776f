// The client registry: its registration rules (RFC 6749 §2, §3.1.2) and the `clients` table.
import { randomUUID } from 'node:crypto';
import { and, asc, eq, gt, isNotNull, sql } from 'drizzle-orm';
import { afterCursor, cursorTime, pageOf, type Page, type PageRequest } from '../db/keyset-page.js';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import { clients, type ClientRow } from '../db/schema.js';
import { generateClientSecret, hashClientSecret } from './client-secret.js';
import { isScopeToken } from './scope.js';
import { isRegistrableRedirectUri, REDIRECT_URI_RULE } from './redirect-uri.js';
import { isServedUrl, publicJwks, SERVED_URL_RULE } from './public-keys.js';

/**
 * How a confidential client may authenticate: with its secret (RFC 6749 §2.3.1, Basic or in the
 * body), with a JWT signed by one of its keys (private_key_jwt, RFC 7523 §2.2), with a token from a
 * trusted external issuer bound to it (federation, federation/), or any set of them.
 */
export type ClientAuthKind = 'client_secret' | 'private_key_jwt' | 'federation';
export const CLIENT_AUTH_KINDS: readonly ClientAuthKind[] = ['client_secret', 'private_key_jwt', 'federation'];

/** A client as everyone but the authentication code sees it: never a secret hash. */
export type Client = Omit<ClientRow, 'secretHash' | 'previousSecretHash'> & {
  /** Neither a secret nor keys: it identifies itself by client_id alone (RFC 6749 §2.1). */
  isPublic: boolean;
  authMethods: ClientAuthKind[];
};

/** Where the client serves its keys. */
const jwksUri = z.string().max(2048).refine(isServedUrl, `jwks_uri is ${SERVED_URL_RULE}`);

const audience = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[^\s,]+$/, 'an audience must not contain spaces or commas');

const redirectUri = z.string().refine(isRegistrableRedirectUri, REDIRECT_URI_RULE);

/** OpenID Connect RP-Initiated Logout §2: where a signed-out browser may be sent; https or loopback http. */
const postLogoutRedirectUri = z
  .string()
  .refine(
    (value) => isRegistrableRedirectUri(value) && /^https?:/.test(value),
    'a post-logout redirect URI is an https URL (http only on localhost, 127.0.0.1 or [::1]) without a fragment',
  );

export const newClientSchema = z
  .object({
    name: z.string().trim().min(1, 'a name is required').max(200),
    /** A public client (RFC 6749 §2.1) has no secret and identifies itself by client_id alone. */
    isPublic: z.boolean().default(false),
    grantTypes: z.array(z.string()).min(1, 'at least one grant type is required'),
    scopes: z.array(z.string().refine(isScopeToken, 'a scope must be printable ASCII without spaces, " or \\')),
    audiences: z.array(audience).min(1, 'at least one audience is required (the APIs its tokens are for)'),
    redirectUris: z.array(redirectUri).max(20).default([]),
    postLogoutRedirectUris: z.array(postLogoutRedirectUri).max(20).default([]),
    /** The issuer's own app: its users are not asked to consent. */
    firstParty: z.boolean().default(false),
    authMethods: z
      .array(z.enum(CLIENT_AUTH_KINDS, { error: `authentication methods are ${CLIENT_AUTH_KINDS.join(', ')}` }))
      .min(1)
      .default(['client_secret']),
    jwks: publicJwks.optional(),
    jwksUri: jwksUri.optional(),
  })
  .refine((client) => !(client.isPublic && client.grantTypes.includes('client_credentials')), {
    // RFC 6749 §4.4: only a confidential client may act on its own behalf.
    path: ['grantTypes'],
    message: 'a public client cannot use client_credentials',
  })
  .refine((client) => !client.grantTypes.includes('authorization_code') || client.redirectUris.length > 0, {
    // RFC 9700 §2.1: the redirect URI is compared with a registered one, so there must be one.
    path: ['redirectUris'],
    message: 'the authorization_code grant needs at least one redirect URI',
  })
  .refine((client) => !client.isPublic || (client.jwks === undefined && client.jwksUri === undefined), {
    path: ['jwks'],
    message: 'a public client has no keys',
  })
  .refine(
    (client) =>
      client.isPublic ||
      (client.authMethods.includes('private_key_jwt')
        ? (client.jwks === undefined) !== (client.jwksUri === undefined)
        : client.jwks === undefined && client.jwksUri === undefined),
    { path: ['jwks'], message: "private_key_jwt needs the client's keys: jwks or jwks_uri, one of them (and only then)" },
  );

export type NewClient = z.input<typeof newClientSchema>;

export interface CreatedClient extends Client {
  /** Shown once; only its hash is stored. None for a public client. */
  secret: string | undefined;
}

export async function createClient(db: Database, input: NewClient): Promise<CreatedClient> {
  const checked = newClientSchema.parse(input);
  const secret = checked.isPublic || !checked.authMethods.includes('client_secret') ? undefined : generateClientSecret();
  const [row] = await db
    .insert(clients)
    .values({
      id: randomUUID(),
      name: input.name,
      secretHash: secret === undefined ? null : hashClientSecret(secret),
      secretCreatedAt: secret === undefined ? null : sql`now()`,
      grantTypes: [...new Set(input.grantTypes)],
      scopes: [...new Set(input.scopes)],
      audiences: [...new Set(input.audiences)],
      redirectUris: [...new Set(checked.redirectUris)],
      postLogoutRedirectUris: [...new Set(checked.postLogoutRedirectUris)],
      firstParty: checked.firstParty,
      jwks: checked.isPublic ? null : (checked.jwks ?? null),
      jwksUri: checked.isPublic ? null : (checked.jwksUri ?? null),
      federated: !checked.isPublic && checked.authMethods.includes('federation'),
    })
    .returning();
  return { ...withoutSecret(row!), secret };
}

export interface ClientChanges {
  name?: string;
  grantTypes?: string[];
  scopes?: string[];
  audiences?: string[];
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  firstParty?: boolean;
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

export function withoutSecret({ secretHash, previousSecretHash: _previous, ...client }: ClientRow): Client {
  const authMethods = authMethodsOf({ secretHash, ...client });
  return { ...client, isPublic: authMethods.length === 0, authMethods };
}

/** What the row allows: its secret when it has one, private_key_jwt when it has keys, and federation. */
export function authMethodsOf(row: Pick<ClientRow, 'secretHash' | 'jwks' | 'jwksUri' | 'federated'>): ClientAuthKind[] {
  const methods: ClientAuthKind[] = [];
  if (row.secretHash !== null) methods.push('client_secret');
  if (row.jwks !== null || row.jwksUri !== null) methods.push('private_key_jwt');
  if (row.federated) methods.push('federation');
  return methods;
}
