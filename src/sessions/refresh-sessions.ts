import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { recordAuditEvent, type AuditSink } from '../audit/audit-log.js';
import type { Client } from '../clients/client-registry.js';
import type { Database } from '../db/database.js';
import type { RefreshTokenFamilyRow, RefreshTokenRow } from '../db/schema.js';
import { invalidGrant } from '../errors.js';
import { isMultiFactor } from '../factors/authentication-methods.js';
import { clientDemandsMfa } from '../factors/mfa-policy.js';
import { newTokenId, type TokenSigner } from '../tokens/access-token.js';
import { mintUserTokens, type TokenResponse } from '../tokens/user-tokens.js';
import { scopesAllowedForRoles } from '../users/roles.js';
import { signInStands } from '../users/sign-in-standing.js';
import { findUserById } from '../users/user-store.js';
import type { Denylist, RevocationEntry } from '../denylist/denylist.js';
import { pushToDenylist } from '../revocation/denylist-sync.js';
import { revokeSessionsIn } from '../revocation/ending-sessions.js';
import {
  findChildToken,
  findFamily,
  findRefreshToken,
  insertSession,
  rotateRefreshToken,
  type ChildToken,
  type SessionFamily,
  type SessionUser,
} from './family-store.js';

export interface SessionPolicy {
  refreshTokenTtlSeconds: number;
  maxLifetimeSeconds: number;
  reuseGraceSeconds: number;
}

export interface SessionDependencies extends AuditSink {
  db: Database;
  signer: TokenSigner;
  logger: Logger;
  denylist: Denylist;
  sessionPolicy: SessionPolicy;
  /** MFA_REQUIRED: sessions signed in with one factor do not refresh (factors/mfa-policy.ts). */
  mfaRequired: boolean;
}

export interface RequestContext {
  ipAddress?: string;
  userAgent?: string;
}

/** Same words for every refusal: the client learns nothing about why a token is dead. */
const INVALID_REFRESH_TOKEN = 'the refresh token is invalid, expired or revoked';

/**
 * A sign-in: a new family with its first token row, which records the access token, so that
 * everything that ends sessions (a password change, a disable, a demotion, logout everywhere) also
 * revokes it. A client not registered for `refresh_token` gets no refresh token, and the session
 * ends with its access token.
 */
export async function startSession(
  deps: SessionDependencies,
  start: { user: SessionUser; client: Client; scope: string[]; audience: string[]; request: RequestContext; from?: SignInAtBrowser },
): Promise<TokenResponse> {
  const now = deps.signer.now();
  const first = newChildToken(deps, start.scope, deps.signer.issuedAt({ sub: start.user.id, client_id: start.client.id }));
  const refreshes = start.client.grantTypes.includes('refresh_token');
  const family = {
    id: start.from?.familyId ?? randomUUID(),
    clientId: start.client.id,
    userId: start.user.id,
    scope: start.scope,
    audience: start.audience,
    authTime: start.from?.authTime ?? now,
    // The password grant: the password alone.
    amr: start.from?.amr ?? ['pwd'],
    expiresAt: refreshes ? new Date(now.getTime() + deps.sessionPolicy.maxLifetimeSeconds * 1000) : first.accessExpiresAt,
  };
  // A session never outlives its absolute lifetime, however long a refresh token may live.
  if (first.expiresAt > family.expiresAt) first.expiresAt = family.expiresAt;
  const { userAgent, ipAddress } = start.request;
  await insertSession(
    deps.db,
    {
      ...family,
      userAgent: userAgent?.slice(0, 512) ?? null,
      ipAddress: ipAddress ?? null,
      browserSessionId: start.from?.browserSessionId ?? null,
    },
    first,
  );
  const tokens = {
    ...tokenSetOf(start.user, family, first),
    nonce: start.from?.nonce ?? undefined,
    idTokenAlgorithm: start.client.idTokenAlgorithm,
  };
  return mintUserTokens(deps.signer, refreshes ? tokens : { ...tokens, refresh: undefined });
}

/** A session started by an authorization code: from the browser session where the user signed in. */
export interface SignInAtBrowser {
  /** Chosen when the code was issued, so that a second presentation of the code can end it. */
  familyId: string;
  /** When the user typed their password, not when the code was exchanged (OpenID Connect Core §2). */
  authTime: Date;
  /** How the user authenticated in that browser session (RFC 8176). */
  amr: string[];
  browserSessionId: string;
  /** The authorization request's nonce, for the id token (OpenID Connect Core §3.1.3.6). */
  nonce: string | null;
}

type Outcome =
  | { kind: 'rotated' | 'replayed'; family: SessionFamily; token: RefreshTokenRow; user: SessionUser }
  | { kind: 'refused'; revoked?: RevocationEntry[] };

/**
 * Exchanges a verified refresh token for a new pair in the same family (RFC 9700 §4.14.2): the
 * presented token is spent atomically; a spent token presented again revokes the family, except
 * for a retry of the immediate parent within REFRESH_REUSE_GRACE_SECONDS, which gets the same pair.
 */
export async function rotateSession(
  deps: SessionDependencies,
  exchange: { jti: string; subject: string; client: Client; accessScope: string[]; request: RequestContext },
): Promise<TokenResponse> {
  const now = deps.signer.now();
  // One statement, one round trip: the spend, and the child when the session may continue.
  const child = newChildToken(deps, exchange.accessScope, deps.signer.issuedAt({ sub: exchange.subject, client_id: exchange.client.id }));
  const rotation = await rotateRefreshToken(deps.db, { jti: exchange.jti, clientId: exchange.client.id, now }, child);
  const outcome: Outcome = !rotation
    ? await deps.db.transaction((tx) => replayOrRevoke(tx, deps, exchange, now))
    : rotation.child && sessionIsLive(rotation.family, rotation.user, exchange.client, now, deps.mfaRequired)
      ? { kind: 'rotated', family: rotation.family, token: rotation.child, user: rotation.user }
      : { kind: 'refused' };
  if (outcome.kind === 'refused') {
    await pushToDenylist(deps, outcome.revoked ?? []);
    throw invalidGrant(INVALID_REFRESH_TOKEN);
  }
  return mintUserTokens(deps.signer, {
    ...tokenSetOf(outcome.user, outcome.family, outcome.token),
    idTokenAlgorithm: exchange.client.idTokenAlgorithm,
  });
}

async function replayOrRevoke(
  db: Database,
  deps: SessionDependencies,
  exchange: { jti: string; client: Client; request: RequestContext },
  now: Date,
): Promise<Outcome> {
  const presented = await findRefreshToken(db, exchange.jti);
  const family = presented && (await findFamily(db, presented.familyId));
  if (!presented?.usedAt || !family || family.revokedAt || family.clientId !== exchange.client.id) {
    return { kind: 'refused' };
  }
  // A grace of 0 turns the window off; it must not admit a retry in the very same millisecond.
  const graceMs = deps.sessionPolicy.reuseGraceSeconds * 1000;
  const withinGrace = graceMs > 0 && now.getTime() - presented.usedAt.getTime() <= graceMs;
  const child = withinGrace ? await findChildToken(db, presented.jti) : undefined;
  const user = child && !child.usedAt ? await findUserById(db, family.userId) : undefined;
  if (child && user && sessionIsLive(family, user, exchange.client, now, deps.mfaRequired)) {
    return { kind: 'replayed', family, token: child, user };
  }
  // A spent token came back: it was stolen, or its holder was. Kill the whole family, and the
  // access tokens it issued.
  const { revoked } = await revokeSessionsIn(db, { familyIds: [family.id] }, 'refresh_token_reuse', now, deps.signer.accessTokenTtlSeconds);
  await recordAuditEvent(db, deps, {
    type: 'refresh_token_reuse_detected',
    userId: family.userId,
    clientId: family.clientId,
    familyId: family.id,
    ipAddress: exchange.request.ipAddress,
    details: { jti: presented.jti },
  });
  return { kind: 'refused', revoked };
}

/** A family keeps refreshing while unrevoked, within its absolute lifetime, for its own client,
 * while its user is active and has not changed password since signing in, and while it has the
 * second factor its client now demands. */
export function sessionIsLive(
  family: SessionFamily,
  user: SessionUser,
  client: Pick<Client, 'id' | 'requireMfa' | 'singleFactorPasswordGrant'>,
  now: Date,
  mfaRequired: boolean,
): boolean {
  return (
    family.revokedAt === null &&
    family.expiresAt > now &&
    family.clientId === client.id &&
    signInStands(user, family.authTime) &&
    (isMultiFactor(family.amr) || !clientDemandsMfa(client, mfaRequired))
  );
}

/** A new token's identifiers and lifetimes, issued at `now`; where it is stored, its expiry is clamped to its family's end. */
function newChildToken(deps: SessionDependencies, accessScope: string[], now: Date): ChildToken {
  return {
    jti: newTokenId(),
    accessJti: newTokenId(),
    accessScope,
    issuedAt: now,
    expiresAt: new Date(now.getTime() + deps.sessionPolicy.refreshTokenTtlSeconds * 1000),
    accessExpiresAt: new Date(now.getTime() + deps.signer.accessTokenTtlSeconds * 1000),
  };
}

/**
 * What a stored token's response contains. Roles are read afresh on every refresh: a user who lost a
 * role stops getting the scopes it gave, even on a retry within the grace window.
 */
function tokenSetOf(
  user: SessionUser,
  family: Pick<RefreshTokenFamilyRow, 'id' | 'clientId' | 'scope' | 'audience' | 'authTime' | 'amr'>,
  token: Pick<RefreshTokenRow, 'jti' | 'accessJti' | 'accessScope' | 'issuedAt' | 'expiresAt'>,
) {
  return {
    user,
    clientId: family.clientId,
    sessionId: family.id,
    audience: family.audience,
    authTime: family.authTime,
    amr: family.amr,
    issuedAt: token.issuedAt,
    accessJti: token.accessJti,
    accessScope: scopesAllowedForRoles(token.accessScope, user.roles),
    refresh: { jti: token.jti, expiresAt: token.expiresAt, scope: family.scope },
  };
}
