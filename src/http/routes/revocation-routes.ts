import { Hono, type MiddlewareHandler } from 'hono';
import { authenticateClient, clientCredentialsOf } from '../../clients/authenticate-client.js';
import type { ClientAssertionVerifiers } from '../../clients/client-assertion.js';
import type { ClientDirectory } from '../../clients/client-directory.js';
import { invalidClient, invalidRequest } from '../../errors.js';
import { introspect } from '../../sessions/introspection.js';
import { revokePresentedToken, type PresentedTokenDependencies } from '../../revocation/presented-tokens.js';
import type { AppEnv } from '../app-env.js';
import type { BearerGuards } from '../middleware/bearer-auth.js';
import { readForm, refuseQueryString } from '../form.js';
import { requestContextOf } from '../middleware/request-context.js';
import { NO_STORE } from '../no-store.js';

export interface RevocationRouteOptions extends PresentedTokenDependencies {
  guards: BearerGuards;
  now: () => Date;
  introspectionRateLimit: MiddlewareHandler<AppEnv>;
  clients: ClientDirectory;
  assertions: ClientAssertionVerifiers;
  mfaRequired: boolean;
}

/** POST /revoke (RFC 7009) and POST /introspect (RFC 7662). */
export function revocationRoutes(options: RevocationRouteOptions): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post('/revoke', async function revoke(c) {
    refuseQueryString(c);
    const params = await readForm(c);
    const client = await authenticateClient(
      options.clients,
      clientCredentialsOf(c.req.header('Authorization'), params, requestContextOf(c).ipAddress),
      options.assertions,
    );
    c.set('client', client);
    const token = params.get('token');
    if (!token) throw invalidRequest('the token parameter is required');

    await revokePresentedToken(options, { token, clientId: client.id, ipAddress: requestContextOf(c).ipAddress });
    return c.body(null, 200, NO_STORE);
  });

  const introspector = options.guards.introspector();
  routes.post('/introspect', options.introspectionRateLimit, async function introspectToken(c) {
    refuseQueryString(c);
    const params = await readForm(c);
    const authorization = c.req.header('Authorization');
    // RFC 7662 §2.1: the caller is a confidential client, or presents an access token allowed to introspect.
    if (authorization && /^bearer /i.test(authorization)) {
      await introspector(c, async () => {});
    } else {
      const client = await authenticateClient(
        options.clients,
        clientCredentialsOf(authorization, params, requestContextOf(c).ipAddress),
        options.assertions,
      );
      if (client.isPublic) throw invalidClient(authorization !== undefined);
    }
    const token = params.get('token');
    if (!token) throw invalidRequest('the token parameter is required');
    return c.json(await introspect({ ...options, now: options.now }, token), 200, NO_STORE);
  });

  return routes;
}
