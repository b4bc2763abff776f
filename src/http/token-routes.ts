import { Hono } from 'hono';
import { authenticateClient } from '../clients/authenticate-client.js';
import { invalidRequest, unauthorizedClient, unsupportedGrantType } from '../errors.js';
import type { GrantDependencies } from '../grants/grant.js';
import { findGrant } from '../grants/registry.js';
import type { AppEnv } from './app-env.js';
import { readForm } from './form.js';

/** POST /token (RFC 6749 §3.2): parse, authenticate the client, hand over to the grant. */
export function tokenRoutes(deps: GrantDependencies): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post('/token', async function issueToken(c) {
    // Credentials and tokens never travel in a URL (RFC 6749 §2.3.1, RFC 6750 §5.3); nor does anything else here.
    if (new URL(c.req.url).search !== '') {
      throw invalidRequest('send the parameters in the request body, not in the URL');
    }
    const params = await readForm(c);
    const grantType = params.get('grant_type');
    if (!grantType) throw invalidRequest('the grant_type parameter is required');
    const grant = findGrant(grantType);
    if (!grant) throw unsupportedGrantType('this grant_type is not supported');

    const client = await authenticateClient(deps.db, {
      authorization: c.req.header('Authorization'),
      clientId: params.get('client_id'),
      clientSecret: params.get('client_secret'),
    });
    if (!client.grantTypes.includes(grantType)) {
      throw unauthorizedClient(`this client may not use the ${grantType} grant`);
    }

    const response = await grant.handle(params, client, deps);
    // RFC 6749 §5.1: token responses must not be stored by any cache.
    return c.json(response, 200, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
  });

  return routes;
}
