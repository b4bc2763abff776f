import type { SigningAlgorithm } from '../keys/signing-key.js';
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  integer,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const clients = pgTable('clients', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** SHA-256 of a server-generated 256-bit secret (clients/client-secret.ts); null for a public client. */
  secretHash: text('secret_hash'),
  /** When the current secret was issued, for its age. */
  secretCreatedAt: timestamp('secret_created_at', { withTimezone: true }),
  /**
   * The secret before the last rotation, still accepted until `previousSecretExpiresAt` (or until it
   * is retired), so that a fleet rolls over to the new one without a failed request.
   */
  previousSecretHash: text('previous_secret_hash'),
  previousSecretCreatedAt: timestamp('previous_secret_created_at', { withTimezone: true }),
  previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
  /**
   * private_key_jwt (RFC 7523 §2.2): the client's public keys, inline or at a URL it serves. A client
   * with keys and no secret is still confidential.
   */
  jwks: jsonb('jwks').$type<{ keys: Record<string, unknown>[] }>(),
  jwksUri: text('jwks_uri'),
  grantTypes: text('grant_types').array().notNull(),
  scopes: text('scopes').array().notNull(),
  audiences: text('audiences').array().notNull(),
  /** Where an authorization response may be sent (RFC 6749 §3.1.2), exact strings. */
  redirectUris: text('redirect_uris')
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  /** Where RP-initiated logout may send the browser afterwards (OpenID Connect RP-Initiated Logout §2). */
  postLogoutRedirectUris: text('post_logout_redirect_uris')
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  /** The issuer's own apps: users are not asked to consent to them. */
  firstParty: boolean('first_party').notNull().default(false),
  /**
   * Workload identity federation: the client authenticates with a token from a trusted external
   * issuer bound to it (`federated_identities`). Such a client may have neither secret nor keys
   * and is still confidential.
   */
  federated: boolean('federated').notNull().default(false),
  /**
   * PKCE on every authorization request (RFC 9700 §2.1.1, OAuth 2.1). A confidential client may be
   * let off when its request is an OpenID Connect one with a `nonce` (RFC 9700 §2.1.1 allows the
   * nonce instead), for relying parties that send no PKCE.
   */
  pkceRequired: boolean('pkce_required').notNull().default(true),
  /** Its users sign in with a second factor (factors/mfa-policy.ts), whatever the rest of the issuer asks. */
  requireMfa: boolean('require_mfa').notNull().default(false),
  /**
   * The password grant may sign in a user who has a second factor, with the password alone. Off by
   * default: the password grant cannot ask for a second factor, so it would bypass it.
   */
  singleFactorPasswordGrant: boolean('single_factor_password_grant').notNull().default(false),
  /**
   * Token exchange (RFC 8693) by this client impersonates: the tokens it obtains name no actor
   * (`act`), so the services it calls cannot tell it called. Off by default: delegation shows the chain.
   */
  impersonation: boolean('impersonation').notNull().default(false),
  /** OpenID Connect Registration §2: the algorithm its id tokens must be signed with; null: whatever signs now. */
  idTokenAlgorithm: text('id_token_signed_response_alg').$type<SigningAlgorithm>(),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** The columns of a signing-key table; both tables below have them. */
const signingKeyColumns = () => ({
  /** RFC 7638 JWK thumbprint of the public key. */
  kid: text('kid').primaryKey(),
  algorithm: text('algorithm').notNull(),
  publicJwk: jsonb('public_jwk').$type<Record<string, string>>().notNull(),
  /** The private JWK sealed with AES-256-GCM under KEY_ENCRYPTION_KEY (keys/sealed-box.ts). */
  privateKeySealed: text('private_key_sealed').notNull(),
  createdAt: createdAt(),
  /**
   * When it starts signing. A rotated-in key is published in the JWKS first and signs only after
   * KEY_ACTIVATION_DELAY, so that every verifier (and every instance) already holds it when its
   * first token arrives.
   */
  activatesAt: timestamp('activates_at', { withTimezone: true }).notNull().defaultNow(),
  /** When a later key took over; the key keeps verifying until its tokens expire. */
  retiredAt: timestamp('retired_at', { withTimezone: true }),
  /** `keys revoke`: withdrawn at once, neither signing nor verifying any more (a leaked key). */
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});

/** Keys that sign access and id tokens: their public halves are the JWKS. */
export const signingKeys = pgTable('signing_keys', signingKeyColumns());

/**
 * Keys that sign refresh tokens: never published, so no JWKS verifier can accept a refresh token,
 * whatever it checks; only the issuer verifies them. A table of their own, so that no code reading
 * `signing_keys` (an older instance during an upgrade) can publish or sign with one.
 */
export const refreshSigningKeys = pgTable('refresh_signing_keys', signingKeyColumns());

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    username: text('username').notNull(),
    /** Stored lower-case. */
    email: text('email').notNull(),
    fullName: text('full_name'),
    /** argon2id PHC string. */
    passwordHash: text('password_hash').notNull(),
    roles: text('roles')
      .array()
      .notNull()
      .default(sql`'{user}'::text[]`),
    isActive: boolean('is_active').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    passwordChangedAt: timestamp('password_changed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    // Usernames are unique regardless of case.
    uniqueIndex('users_username_lower_key').on(sql`lower(${table.username})`),
    uniqueIndex('users_email_key').on(table.email),
  ],
);

/**
 * A browser signed in at the login page (single sign-on): its cookie holds a random id of which only
 * the SHA-256 is kept. Ends when idle past BROWSER_SESSION_IDLE_SECONDS, at `expires_at`, or when
 * `ended_at` is set (logout, and everything that ends a user's sessions).
 */
export const browserSessions = pgTable(
  'browser_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tokenHash: text('token_hash').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** When the user typed their password: `auth_time` of every id token this session gives. */
    authTime: timestamp('auth_time', { withTimezone: true }).notNull(),
    /** How the user authenticated (RFC 8176 `amr` values): `pwd`, then `otp` and `mfa` after a second factor. */
    amr: text('amr')
      .array()
      .notNull()
      .default(sql`'{pwd}'::text[]`),
    createdAt: createdAt(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    endedReason: text('ended_reason'),
    userAgent: text('user_agent'),
    ipAddress: text('ip_address'),
  },
  (table) => [uniqueIndex('browser_sessions_token_key').on(table.tokenHash), index('browser_sessions_user_idx').on(table.userId)],
);

/** A sign-in and the chain of refresh tokens rotated from it: the user's "session". */
export const refreshTokenFamilies = pgTable(
  'refresh_token_families',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clientId: text('client_id')
      .notNull()
      .references(() => clients.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The scope the user granted at sign-in; a refresh may narrow it, never widen it (RFC 6749 §6). */
    scope: text('scope').array().notNull(),
    audience: text('audience').array().notNull(),
    authTime: timestamp('auth_time', { withTimezone: true }).notNull(),
    /** How the user authenticated at sign-in (RFC 8176); kept by every refresh. */
    amr: text('amr')
      .array()
      .notNull()
      .default(sql`'{pwd}'::text[]`),
    createdAt: createdAt(),
    /** Absolute end of the family (REFRESH_TOKEN_MAX_LIFETIME); rotation never extends it. */
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedReason: text('revoked_reason'),
    userAgent: text('user_agent'),
    ipAddress: text('ip_address'),
    /** The browser session a family started through /authorize belongs to: ending that ends this. */
    browserSessionId: uuid('browser_session_id').references(() => browserSessions.id, { onDelete: 'set null' }),
  },
  (table) => [
    index('refresh_token_families_user_idx').on(table.userId),
    index('refresh_token_families_browser_session_idx').on(table.browserSessionId),
  ],
);

/** One row per refresh token issued (its jti), with the access token issued beside it. */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    jti: text('jti').primaryKey(),
    familyId: uuid('family_id')
      .notNull()
      .references(() => refreshTokenFamilies.id, { onDelete: 'cascade' }),
    parentJti: text('parent_jti'),
    issuedAt: timestamp('issued_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** Set once, atomically, when the token is exchanged: a spent token. */
    usedAt: timestamp('used_at', { withTimezone: true }),
    accessJti: text('access_jti').notNull(),
    /** The access token's scope as asked for; the user's roles at signing time filter it. */
    accessScope: text('access_scope').array().notNull(),
    accessExpiresAt: timestamp('access_expires_at', { withTimezone: true }).notNull(),
  },
  (table) => [
    index('refresh_tokens_family_idx').on(table.familyId, table.accessExpiresAt),
    index('refresh_tokens_parent_idx').on(table.parentJti),
  ],
);

/**
 * Every revoked access token until it expires: the durable record behind the Redis denylist, from
 * which the denylist is refilled when Redis comes back or was never reachable.
 */
export const revokedTokens = pgTable(
  'revoked_tokens',
  {
    jti: text('jti').primaryKey(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }).notNull().defaultNow(),
    reason: text('reason').notNull(),
  },
  // The revocation feed reads what was revoked since a moment (revocation/revocation-feed.ts).
  (table) => [index('revoked_tokens_expires_idx').on(table.expiresAt), index('revoked_tokens_revoked_at_idx').on(table.revokedAt)],
);

/**
 * Cut-offs: every access token of a subject, client, session (`sid`) or signing key (`kid`), or
 * every token (`all`, value `*`), issued at or before `before`, is revoked. Kept until `expires_at`
 * (`before` plus the longest access-token lifetime); one row per kind and value, the latest
 * `before` winning. The durable record behind the cut-offs in the Redis denylist.
 */
export const revocationCutoffs = pgTable(
  'revocation_cutoffs',
  {
    kind: text('kind').notNull(),
    value: text('value').notNull(),
    before: timestamp('before', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }).notNull().defaultNow(),
    reason: text('reason').notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.kind, table.value] }),
    index('revocation_cutoffs_expires_idx').on(table.expiresAt),
    index('revocation_cutoffs_revoked_at_idx').on(table.revokedAt),
  ],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    type: text('type').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    userId: uuid('user_id'),
    clientId: text('client_id'),
    familyId: uuid('family_id'),
    ipAddress: text('ip_address'),
    /** Who acted: `user:<id>`, `client:<id>`, or absent for the service itself and the CLI. */
    actor: text('actor'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (table) => [index('audit_events_occurred_idx').on(table.occurredAt)],
);

/**
 * A password reset link waiting to be used: only the SHA-256 of its 256-bit token is kept, so a
 * database reader cannot reset anyone's password. Used once, then kept as spent until it expires.
 */
export const passwordResetTokens = pgTable(
  'password_reset_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (table) => [index('password_reset_tokens_user_idx').on(table.userId)],
);

/**
 * An authorization request (RFC 6749 §4.1.1) waiting for the user at the login or consent page. Bound
 * to the browser that made it (the SHA-256 of its binding cookie), so another browser cannot finish it.
 */
export const authorizationRequests = pgTable(
  'authorization_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    bindingHash: text('binding_hash').notNull(),
    clientId: text('client_id')
      .notNull()
      .references(() => clients.id, { onDelete: 'cascade' }),
    redirectUri: text('redirect_uri').notNull(),
    /** RFC 6749 §4.1.3: when the request named its redirect_uri, the token request must repeat it. */
    redirectUriGiven: boolean('redirect_uri_given').notNull(),
    scope: text('scope').array().notNull(),
    audience: text('audience').array().notNull(),
    state: text('state'),
    nonce: text('nonce'),
    /** Null only for a client let off PKCE, whose request then carried a nonce. */
    codeChallenge: text('code_challenge'),
    /** `consent` asks again even when consent was given; `login` is spent once the user signed in. */
    forceConsent: boolean('force_consent').notNull().default(false),
    loginHint: text('login_hint'),
    /** Set when the user signed in (or their browser session was accepted) for this request. */
    browserSessionId: uuid('browser_session_id').references(() => browserSessions.id, { onDelete: 'cascade' }),
    /** OpenID Connect Core §3.1.2.1 `acr_values`, as requested: a value naming MFA asks for it. */
    acrValues: text('acr_values')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /**
     * A first factor passed for this request, the second still to come: who, and how (RFC 8176).
     * No browser session exists until the second factor is given.
     */
    firstFactorUserId: uuid('first_factor_user_id').references(() => users.id, { onDelete: 'cascade' }),
    firstFactorAmr: text('first_factor_amr').array(),
    firstFactorAt: timestamp('first_factor_at', { withTimezone: true }),
    /**
     * A sign-in sent to an upstream provider (upstream/): which, and the `state`, `nonce` and PKCE
     * verifier of that request, checked when the browser comes back to /authorize/callback.
     */
    upstreamProviderId: uuid('upstream_provider_id'),
    upstreamState: text('upstream_state'),
    upstreamNonce: text('upstream_nonce'),
    upstreamVerifier: text('upstream_verifier'),
    /** Not a sign-in: the account page linking this signed-in user to an upstream account. */
    linkUserId: uuid('link_user_id').references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (table) => [
    index('authorization_requests_expires_idx').on(table.expiresAt),
    uniqueIndex('authorization_requests_upstream_state_idx').on(table.upstreamState),
  ],
);

/**
 * An authorization code (RFC 6749 §4.1.2): only its SHA-256 is kept. Single use, 60 s, and bound to
 * everything the token request must match. `family_id` is chosen when the code is issued, so that a
 * second presentation can end the session the first one started.
 */
export const authorizationCodes = pgTable(
  'authorization_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    clientId: text('client_id')
      .notNull()
      .references(() => clients.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    redirectUri: text('redirect_uri').notNull(),
    redirectUriGiven: boolean('redirect_uri_given').notNull(),
    /** Null only for a client let off PKCE: then a code_verifier is refused (RFC 9700 §4.8.2). */
    codeChallenge: text('code_challenge'),
    nonce: text('nonce'),
    scope: text('scope').array().notNull(),
    audience: text('audience').array().notNull(),
    authTime: timestamp('auth_time', { withTimezone: true }).notNull(),
    /** How the user authenticated (RFC 8176), from the browser session: the id token's and access token's `amr`. */
    amr: text('amr')
      .array()
      .notNull()
      .default(sql`'{pwd}'::text[]`),
    browserSessionId: uuid('browser_session_id').notNull(),
    familyId: uuid('family_id').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    /** A second presentation: the session the first one started is ended (RFC 6749 §4.1.2). */
    reusedAt: timestamp('reused_at', { withTimezone: true }),
  },
  (table) => [index('authorization_codes_expires_idx').on(table.expiresAt)],
);

/** What a user allowed a third-party client (OpenID Connect Core §3.1.2.4); more scopes ask again. */
export const consents = pgTable(
  'consents',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    clientId: text('client_id')
      .notNull()
      .references(() => clients.id, { onDelete: 'cascade' }),
    scopes: text('scopes').array().notNull(),
    grantedAt: timestamp('granted_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.clientId] })],
);

export type ClientRow = typeof clients.$inferSelect;
export type SigningKeyRow = typeof signingKeys.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type RefreshTokenFamilyRow = typeof refreshTokenFamilies.$inferSelect;
export type RefreshTokenRow = typeof refreshTokens.$inferSelect;
export type BrowserSessionRow = typeof browserSessions.$inferSelect;
export type AuthorizationRequestRow = typeof authorizationRequests.$inferSelect;
export type AuthorizationCodeRow = typeof authorizationCodes.$inferSelect;

/**
 * Workload identity federation: an external issuer (a Kubernetes cluster, GitHub Actions, a SPIFFE
 * trust domain) whose signed tokens a workload may present as its client assertion.
 */
export const trustedIssuers = pgTable('trusted_issuers', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** The exact `iss` of its tokens. */
  issuer: text('issuer').notNull().unique(),
  /** Its public keys, inline or at a URL it serves (one of them). */
  jwks: jsonb('jwks').$type<{ keys: Record<string, unknown>[] }>(),
  jwksUri: text('jwks_uri'),
  /** The `aud` its tokens must carry for this issuer, exactly: a token minted for another service never passes. */
  audience: text('audience').notNull(),
  /** A token older than this (by its `iat`) is refused, however long the issuer let it live. */
  maxTokenAgeSeconds: integer('max_token_age_seconds').notNull(),
  createdAt: createdAt(),
});

/**
 * Which workloads of a trusted issuer are which client: an exact `sub`, and claims that must equal
 * the given strings (GitHub's `repository` and `ref`, say). Every condition must hold.
 */
export const federatedIdentities = pgTable(
  'federated_identities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    clientId: text('client_id')
      .notNull()
      .references(() => clients.id, { onDelete: 'cascade' }),
    issuer: text('issuer')
      .notNull()
      .references(() => trustedIssuers.issuer, { onDelete: 'cascade' }),
    subject: text('subject'),
    claims: jsonb('claims').$type<Record<string, string>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (table) => [index('federated_identities_issuer_idx').on(table.issuer), index('federated_identities_client_idx').on(table.clientId)],
);
export type TrustedIssuerRow = typeof trustedIssuers.$inferSelect;
export type FederatedIdentityRow = typeof federatedIdentities.$inferSelect;

/**
 * An authenticator app of a user (TOTP, RFC 6238). The secret is sealed under KEY_ENCRYPTION_KEY
 * like a signing key, bound to the row's id. Unconfirmed until the user enters a first code.
 */
export const totpFactors = pgTable(
  'totp_factors',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    secretSealed: text('secret_sealed').notNull(),
    confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
    /** The time step of the last code accepted: a later code only, so each code works once, on every instance. */
    lastUsedStep: bigint('last_used_step', { mode: 'number' }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (table) => [index('totp_factors_user_idx').on(table.userId)],
);

/** Single-use recovery codes: only the SHA-256 of each is kept (they carry 60 random bits). */
export const recoveryCodes = pgTable(
  'recovery_codes',
  {
    codeHash: text('code_hash').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (table) => [index('recovery_codes_user_idx').on(table.userId)],
);
export type TotpFactorRow = typeof totpFactors.$inferSelect;

/**
 * A passkey of a user (WebAuthn Level 3): the credential's id and public key (COSE, base64url), the
 * signature counter it last reported, and whether it is synced (backup eligible) and backed up.
 */
export const passkeys = pgTable(
  'passkeys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    credentialId: text('credential_id').notNull(),
    publicKey: text('public_key').notNull(),
    counter: bigint('counter', { mode: 'number' }).notNull().default(0),
    transports: text('transports')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** `singleDevice` (bound to one authenticator: `hwk`) or `multiDevice` (synced: `swk`). */
    deviceType: text('device_type').notNull(),
    backedUp: boolean('backed_up').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (table) => [index('passkeys_user_idx').on(table.userId), uniqueIndex('passkeys_credential_idx').on(table.credentialId)],
);
export type PasskeyRow = typeof passkeys.$inferSelect;

/**
 * A WebAuthn challenge handed out and not yet answered: single use (deleted when answered, on any
 * instance), short-lived, and bound to what asked for it: a user registering a passkey, or a
 * pending sign-in (and, for a second factor, its user).
 */
export const webauthnChallenges = pgTable(
  'webauthn_challenges',
  {
    challenge: text('challenge').primaryKey(),
    purpose: text('purpose').notNull(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    requestId: uuid('request_id').references(() => authorizationRequests.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (table) => [index('webauthn_challenges_expiry_idx').on(table.expiresAt)],
);

/**
 * An upstream identity provider people may sign in with (upstream/): an OpenID Connect issuer,
 * found by discovery, with this issuer registered there as a client. The client secret is sealed
 * under KEY_ENCRYPTION_KEY like a signing key.
 */
export const identityProviders = pgTable('identity_providers', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** The short name in URLs, forms and the `idp` of audit events: lower case, digits, dashes. */
  name: text('name').notNull().unique(),
  /** `oidc` (Google and Microsoft are OpenID Connect issuers), or `github` (OAuth 2.0 and its API). */
  kind: text('kind').notNull().default('oidc'),
  displayName: text('display_name').notNull(),
  /** The OpenID Connect issuer; for GitHub, its web address (github.com, or an Enterprise Server). */
  issuer: text('issuer').notNull(),
  clientId: text('client_id').notNull(),
  /** How this issuer authenticates to the provider: `client_secret`, `private_key_jwt` or `none`. */
  clientAuth: text('client_auth').notNull().default('client_secret'),
  clientSecretSealed: text('client_secret_sealed'),
  /** For private_key_jwt: this issuer's private key for that provider (a JWK, sealed). */
  clientKeySealed: text('client_key_sealed'),
  scopes: text('scopes').array().notNull(),
  /** A first sign-in creates an account (with a verified email, in an allowed domain when listed). */
  allowSignup: boolean('allow_signup').notNull().default(false),
  allowedDomains: text('allowed_domains')
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  /** The only way in for its users (the workforce case): their password never signs them in. */
  exclusive: boolean('exclusive').notNull().default(false),
  createdAt: createdAt(),
});
export type IdentityProviderRow = typeof identityProviders.$inferSelect;

/** A user's account at an upstream provider, by the provider's `sub`: how a returning user is found (never by email). */
export const linkedIdentities = pgTable(
  'linked_identities',
  {
    providerId: uuid('provider_id')
      .notNull()
      .references(() => identityProviders.id, { onDelete: 'cascade' }),
    subject: text('subject').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The upstream email when linked, for the account page; never used to find anyone. */
    email: text('email'),
    /** This link made the account (with no usable password until one is set). */
    createdAccount: boolean('created_account').notNull().default(false),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (table) => [primaryKey({ columns: [table.providerId, table.subject] }), index('linked_identities_user_idx').on(table.userId)],
);
export type LinkedIdentityRow = typeof linkedIdentities.$inferSelect;

/**
 * Long-lived credentials for automated systems, exchanged at /token for short-lived access tokens
 * (api-keys/). Each belongs to a user or to a client, never both; only its SHA-256 is kept.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** SHA-256 of the whole key (base64url): 256 random bits need no slow hash, and the lookup is by it. */
    keyHash: text('key_hash').notNull(),
    name: text('name').notNull(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    clientId: text('client_id').references(() => clients.id, { onDelete: 'cascade' }),
    scopes: text('scopes').array().notNull(),
    audiences: text('audiences').array().notNull(),
    /** Who made it: `user:<id>`, `client:<id>`, or null for the command line. */
    createdBy: text('created_by'),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('api_keys_key_hash_key').on(table.keyHash),
    index('api_keys_user_idx').on(table.userId),
    index('api_keys_client_idx').on(table.clientId),
    check('api_keys_one_owner', sql`(${table.userId} is null) <> (${table.clientId} is null)`),
  ],
);
export type ApiKeyRow = typeof apiKeys.$inferSelect;
