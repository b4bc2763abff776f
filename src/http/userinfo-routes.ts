import { type Context, Hono } from 'hono';
import { insufficientScope } from '../errors.js';
import { userClaimsFor } from '../tokens/user-claims.js';
import type { AppEnv } from './app-env.js';
import { requireUserAccessToken, scopesOf, type BearerOptions } from './bearer-auth.js';

/** OpenID Connect Core §5.3: the signed-in user's claims, as the access token's scope allows. */
export function userInfoRoutes(options: BearerOptions): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const authenticated = requireUserAccessToken(options);

  function userInfo(c: Context<AppEnv>) {
    const scope = scopesOf(c.get('accessToken').scope);
    if (!scope.includes('openid')) throw insufficientScope('openid');
    const user = c.get('user');
    return c.json({ sub: user.id, ...userClaimsFor(user, scope) }, 200, { 'Cache-Control': 'no-store' });
  }

  routes.get('/userinfo', authenticated, userInfo);
  routes.post('/userinfo', authenticated, userInfo);
  return routes;
}
