import { type Context, Hono } from 'hono';
import { userClaimsFor } from '../../tokens/user-claims.js';
import type { AppEnv } from '../app-env.js';
import type { BearerGuards } from '../middleware/bearer-auth.js';
import { NO_STORE } from '../no-store.js';

/**
 * OpenID Connect Core §5.3: the signed-in user's claims, as the access token's scope allows. The
 * token must be a user's, for this issuer, with scope `openid` (403 insufficient_scope otherwise).
 */
export function userInfoRoutes(guards: BearerGuards): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const authenticated = guards.userInfo();

  function userInfo(c: Context<AppEnv>) {
    const user = c.get('user');
    return c.json({ sub: user.id, ...userClaimsFor(user, c.get('principal').scope) }, 200, NO_STORE);
  }

  routes.get('/userinfo', authenticated, userInfo);
  routes.post('/userinfo', authenticated, userInfo);
  return routes;
}
