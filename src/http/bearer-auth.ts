import type { MiddlewareHandler } from 'hono';
import type { Database } from '../db/database.js';
import type { Denylist } from '../denylist/denylist.js';
import { bearerTokenRequired, insufficientScope, invalidBearerRequest, invalidToken } from '../errors.js';
import type { KeyRing } from '../keys/key-ring.js';
import { ACCESS_TOKEN_TYP } from '../tokens/access-token.js';
import { TokenRejectedError, verifyOwnToken } from '../tokens/verify-own-token.js';
import { findUserById } from '../users/user-store.js';
import type { AppEnv } from './app-env.js';

export interface BearerOptions {
  db: Database;
  keyRing: KeyRing;
  denylist: Denylist;
  issuer: string;
  /** A scope the token must carry (RFC 6750 §3.1 insufficient_scope). */
  scope?: string;
}

/**
 * Protects an endpoint of the issuer itself with one of its access tokens: signature, `typ`,
 * `iss`, `exp`, not revoked (when the denylist cannot answer, the request gets 503, never access),
 * and an active user. Sets `accessToken` and `user` on the context.
 */
export function requireUserAccessToken(options: BearerOptions): MiddlewareHandler<AppEnv> {
  return async function userAccessToken(c, next) {
    const claims = await verifiedAccessToken(options, c.req.header('Authorization'));
    const user = await findUserById(options.db, String(claims.sub));
    if (!user || !user.isActive) throw invalidToken('the access token does not belong to an active user');
    c.set('accessToken', claims);
    c.set('user', user);
    await next();
  };
}

export async function verifiedAccessToken(options: BearerOptions, authorization: string | undefined) {
  const token = bearerToken(authorization);
  // Only access tokens: a refresh or id token is refused by its `typ` (RFC 8725 §3.11).
  const claims = await verifyOwnToken(options.keyRing, { issuer: options.issuer, typ: ACCESS_TOKEN_TYP }, token).catch(
    (error: unknown) => {
      if (error instanceof TokenRejectedError) throw invalidToken('the access token is invalid or expired');
      throw error;
    },
  );
  if (typeof claims.jti !== 'string' || (await options.denylist.isRevoked(claims.jti))) {
    throw invalidToken('the access token has been revoked');
  }
  if (options.scope && !scopesOf(claims.scope).includes(options.scope)) throw insufficientScope(options.scope);
  return claims;
}

export function scopesOf(scope: unknown): string[] {
  return typeof scope === 'string' ? scope.split(' ') : [];
}

/** RFC 6750 §2.1: the token comes in the Authorization header only, never in the URL. */
function bearerToken(header: string | undefined): string {
  if (header === undefined) throw bearerTokenRequired();
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match) throw invalidBearerRequest('the Authorization header must be "Bearer <access token>"');
  return match[1]!;
}
