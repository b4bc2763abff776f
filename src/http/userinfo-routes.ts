import { type Context, Hono } from 'hono';
import type { Database } from '../db/database.js';
import { bearerTokenRequired, insufficientScope, invalidBearerRequest, invalidToken } from '../errors.js';
import type { KeyRing } from '../keys/key-ring.js';
import { ACCESS_TOKEN_TYP } from '../tokens/access-token.js';
import { userClaimsFor } from '../tokens/user-claims.js';
import { TokenRejectedError, verifyOwnToken } from '../tokens/verify-own-token.js';
import { findUserById } from '../users/user-store.js';
import type { AppEnv } from './app-env.js';

/** OpenID Connect Core §5.3: the signed-in user's claims, as the access token's scope allows. */
export function userInfoRoutes(options: { db: Database; keyRing: KeyRing; issuer: string }): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  async function userInfo(c: Context<AppEnv>) {
    const token = bearerToken(c.req.header('Authorization'));
    // Only access tokens: a refresh or id token is refused by its `typ` (RFC 8725 §3.11).
    const claims = await verifyOwnToken(options.keyRing, { issuer: options.issuer, typ: ACCESS_TOKEN_TYP }, token).catch(
      (error: unknown) => {
        if (error instanceof TokenRejectedError) throw invalidToken('the access token is invalid or expired');
        throw error;
      },
    );
    const user = await findUserById(options.db, String(claims.sub));
    if (!user || !user.isActive) throw invalidToken('the access token does not belong to an active user');
    const scope = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scope.includes('openid')) throw insufficientScope('openid');
    return c.json({ sub: user.id, ...userClaimsFor(user, scope) }, 200, { 'Cache-Control': 'no-store' });
  }

  routes.get('/userinfo', userInfo);
  routes.post('/userinfo', userInfo);
  return routes;
}

/** RFC 6750 §2.1: the token comes in the Authorization header only, never in the URL. */
function bearerToken(header: string | undefined): string {
  if (header === undefined) throw bearerTokenRequired();
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match) throw invalidBearerRequest('the Authorization header must be "Bearer <access token>"');
  return match[1]!;
}
