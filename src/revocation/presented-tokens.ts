import type { JWTPayload } from 'jose';
import type { KeyRing } from '../keys/key-ring.js';
import { identifyOwnToken, isUserToken } from '../tokens/identify-own-token.js';
import { findRefreshToken } from '../sessions/family-store.js';
import { revokeSessions, type RevocationDependencies } from './ending-sessions.js';

/** What it takes to end what a presented token stands for. */
export interface PresentedTokenDependencies extends RevocationDependencies {
  keyRing: KeyRing;
  issuer: string;
}

/**
 * RFC 7009 §2.1: a client revokes one of its own tokens. An access token is denylisted; a refresh
 * token ends its session (family) and every access token the session issued. `token_type_hint`
 * is only a hint: the token's own `typ` decides. An unknown, expired or foreign token changes
 * nothing, and the caller answers 200 all the same (§2.2).
 */
export async function revokePresentedToken(
  deps: PresentedTokenDependencies,
  presented: { token: string; clientId: string; ipAddress?: string },
): Promise<void> {
  const found = await identifyOwnToken(deps.keyRing, deps.issuer, presented.token);
  if (!found || found.claims.client_id !== presented.clientId) return;
  const { claims } = found;
  const audit = {
    type: 'token_revoked' as const,
    clientId: presented.clientId,
    userId: isUserToken(claims) ? claims.sub : undefined,
    ipAddress: presented.ipAddress,
    reason: 'revoked_by_client',
  };
  if (found.kind === 'access_token') {
    await revokeSessions(deps, undefined, audit, { alsoRevoke: [{ jti: claims.jti, expiresAt: claims.exp }] });
    return;
  }
  const row = await findRefreshToken(deps.db, claims.jti);
  if (row) await revokeSessions(deps, { familyIds: [row.familyId] }, { ...audit, type: 'session_revoked' });
}

/**
 * Logout: ends the session of the caller's access token (its `sid`, OpenID Connect Front-Channel
 * Logout §3) and of the refresh token, if one is given, and denylists the access token. Only what
 * the caller's own client holds for the caller ends, whatever refresh token came with the request:
 * one app cannot sign the user out of another.
 */
export async function logOut(
  deps: PresentedTokenDependencies,
  caller: { userId: string; accessToken: JWTPayload; refreshToken?: string; ipAddress?: string },
): Promise<void> {
  const { accessToken } = caller;
  const familyIds = typeof accessToken.sid === 'string' ? [accessToken.sid] : [];
  if (caller.refreshToken) {
    const found = await identifyOwnToken(deps.keyRing, deps.issuer, caller.refreshToken);
    const sameClient = found?.kind === 'refresh_token' && found.claims.client_id === accessToken.client_id;
    const row = sameClient ? await findRefreshToken(deps.db, found.claims.jti) : undefined;
    if (row) familyIds.push(row.familyId);
  }
  const audit = {
    type: 'logout' as const,
    userId: caller.userId,
    clientId: String(accessToken.client_id),
    ipAddress: caller.ipAddress,
    reason: 'logout',
  };
  await revokeSessions(deps, { familyIds, userId: caller.userId }, audit, {
    alsoRevoke: [{ jti: String(accessToken.jti), expiresAt: Number(accessToken.exp) }],
  });
}
