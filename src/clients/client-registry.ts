// The client registry: its registration rules (RFC 6749 §2, §3.1.2); the table is client-store.ts,
// whose lookups are re-exported here for those who read clients.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SIGNING_ALGORITHMS } from '../keys/signing-key.js';
import type { Database } from '../db/database.js';
import { GRANT_TYPES, TOKEN_EXCHANGE_GRANT, unsupportedGrantTypes } from '../grants/grant-types.js';
import { CLIENT_AUTH_KINDS, withoutSecret, type Client } from './client.js';
import { insertClient } from './client-store.js';
import { generateClientSecret, hashClientSecret } from './client-secret.js';
import { isScopeToken } from './scope.js';
import { isRegistrableRedirectUri, REDIRECT_URI_RULE } from './redirect-uri.js';
import { isServedUrl, publicJwks, SERVED_URL_RULE } from './public-keys.js';

/** Where the client serves its keys. */
const jwksUri = z.string().max(2048).refine(isServedUrl, `jwks_uri is ${SERVED_URL_RULE}`);

/**
 * An API the client's tokens are for, named as a resource indicator: an absolute URI without a
 * fragment (RFC 8707 §2), such as https://orders.example.com or urn:example:orders.
 */
const audience = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[^\s,]+$/, 'an audience must not contain spaces or commas')
  .refine(
    (value) => /^[a-z][a-z0-9+.-]*:/i.test(value) && URL.canParse(value) && !value.includes('#'),
    'an audience is an absolute URI, such as https://orders.example.com or urn:example:orders (RFC 8707)',
  );

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
    grantTypes: z
      .array(z.string())
      .min(1, 'at least one grant type is required')
      .superRefine((grants, ctx) => {
        const unsupported = unsupportedGrantTypes(grants);
        if (unsupported.length > 0) {
          ctx.addIssue({ code: 'custom', message: `unsupported ${unsupported.join(', ')} (supported: ${GRANT_TYPES.join(', ')})` });
        }
      }),
    scopes: z.array(z.string().refine(isScopeToken, 'a scope must be printable ASCII without spaces, " or \\')),
    audiences: z.array(audience).min(1, 'at least one audience is required (the APIs its tokens are for)'),
    redirectUris: z.array(redirectUri).max(20).default([]),
    postLogoutRedirectUris: z.array(postLogoutRedirectUri).max(20).default([]),
    /** The issuer's own app: its users are not asked to consent. */
    firstParty: z.boolean().default(false),
    /** False lets a confidential client's OpenID Connect requests with a nonce go without PKCE. */
    pkceRequired: z.boolean().default(true),
    /** Its users sign in with a second factor (factors/mfa-policy.ts). */
    requireMfa: z.boolean().default(false),
    /** The password grant may sign in users who have (or, under MFA_REQUIRED, need) a second factor. */
    singleFactorPasswordGrant: z.boolean().default(false),
    /** Its token exchanges impersonate: the tokens it obtains carry no `act` (grants/token-exchange.ts). */
    impersonation: z.boolean().default(false),
    /** Its id tokens are signed with this algorithm (OpenID Connect Registration §2), or refused. */
    idTokenAlgorithm: z
      .enum(SIGNING_ALGORITHMS, { error: `the id token algorithm is one of ${SIGNING_ALGORITHMS.join(', ')}` })
      .nullable()
      .default(null),
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
  .refine((client) => client.pkceRequired || !client.isPublic, {
    // RFC 9700 §2.1.1: for a public client PKCE is the only protection of its code.
    path: ['pkceRequired'],
    message: 'a public client must use PKCE',
  })
  .refine((client) => !(client.requireMfa && client.singleFactorPasswordGrant), {
    path: ['singleFactorPasswordGrant'],
    message: 'a client that requires MFA cannot sign users in with a password alone',
  })
  .refine((client) => !client.singleFactorPasswordGrant || client.grantTypes.includes('password'), {
    path: ['singleFactorPasswordGrant'],
    message: 'only a client registered for the password grant can use it with a password alone',
  })
  .refine((client) => !client.impersonation || client.grantTypes.includes(TOKEN_EXCHANGE_GRANT), {
    path: ['impersonation'],
    message: 'only a client registered for token exchange can impersonate',
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
  const row = await insertClient(db, {
    id: randomUUID(),
    name: checked.name,
    secretHash: secret === undefined ? null : hashClientSecret(secret),
    grantTypes: [...new Set(checked.grantTypes)],
    scopes: [...new Set(checked.scopes)],
    audiences: [...new Set(checked.audiences)],
    redirectUris: [...new Set(checked.redirectUris)],
    postLogoutRedirectUris: [...new Set(checked.postLogoutRedirectUris)],
    firstParty: checked.firstParty,
    pkceRequired: checked.pkceRequired,
    requireMfa: checked.requireMfa,
    singleFactorPasswordGrant: checked.singleFactorPasswordGrant,
    impersonation: checked.impersonation,
    idTokenAlgorithm: checked.idTokenAlgorithm,
    jwks: checked.isPublic ? null : (checked.jwks ?? null),
    jwksUri: checked.isPublic ? null : (checked.jwksUri ?? null),
    federated: !checked.isPublic && checked.authMethods.includes('federation'),
  });
  return { ...withoutSecret(row), secret };
}

export { authMethodsOf, CLIENT_AUTH_KINDS, withoutSecret, type Client, type ClientAuthKind } from './client.js';
export { findClient, findClientWithSecret, listClients, listClientScopes, listClientsPage } from './client-store.js';
