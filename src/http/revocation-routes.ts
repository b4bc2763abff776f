import { Hono, type MiddlewareHandler } from 'hono';
import { authenticateClient } from '../clients/authenticate-client.js';
import type { ClientDirectory } from '../clients/client-directory.js';
import { invalidClient, invalidRequest } from '../errors.js';
import type { KeyRing } from '../keys/key-ring.js';
import { findRefreshToken } from '../sessions/family-store.js';
import { introspect } from '../sessions/introspection.js';
import { revokeSessions, type RevocationDependencies } from '../sessions/revocation.js';
import { identifyOwnToken, isUserToken } from '../tokens/identify-own-token.js';
import type { AppEnv } from './app-env.js';
import type { BearerGuards } from './bearer-auth.js';
import { readForm, refuseQueryString } from './form.js';
import { requestContextOf } from './request-context.js';
import { NO_STORE } from './no-store.js';

export interface RevocationRouteOptions extends RevocationDependencies {
  keyRing: KeyRing;
  issuer: string;
  guards: BearerGuards;
  now: () => Date;
  introspectionRateLimit: MiddlewareHandler<AppEnv>;
  clients: ClientDirectory;
}


/** POST /revoke (RFC 7009) and POST /introspect (RFC 7662). */
export function revocationRoutes(options: RevocationRouteOptions): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const { db, keyRing, issuer } = options;

  routes.post('/revoke', async function revoke(c) {
    refuseQueryString(c);
    const params = await readForm(c);
    const client = await authenticateClient(options.clients, credentialsOf(c.req.header('Authorization'), params));
    const token = params.get('token');
    if (!token) throw invalidRequest('the token parameter is required');

    // token_type_hint is only a hint (RFC 7009 §2.1): the token's own `typ` decides.
    const found = await identifyOwnToken(keyRing, issuer, token);
    // RFC 7009 §2.2: an unknown, expired or foreign token gets 200 and changes nothing.
    if (found && found.claims.client_id === client.id) {
      const { claims } = found;
      const audit = {
        type: 'token_revoked' as const,
        clientId: client.id,
        userId: isUserToken(claims) ? claims.sub : undefined,
        ipAddress: requestContextOf(c).ipAddress,
        reason: 'revoked_by_client',
      };
      if (found.kind === 'access_token') {
        await revokeSessions(options, undefined, audit, { alsoRevoke: [{ jti: claims.jti, expiresAt: claims.exp }] });
      } else {
        const row = await findRefreshToken(db, claims.jti);
        if (row) await revokeSessions(options, { familyIds: [row.familyId] }, { ...audit, type: 'session_revoked' });
      }
    }
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
      const client = await authenticateClient(options.clients, credentialsOf(authorization, params));
      if (client.isPublic) throw invalidClient(authorization !== undefined);
    }
    const token = params.get('token');
    if (!token) throw invalidRequest('the token parameter is required');
    return c.json(await introspect({ ...options, now: options.now }, token), 200, NO_STORE);
  });

  return routes;
}

function credentialsOf(authorization: string | undefined, params: { get(name: string): string | undefined }) {
  return { authorization, clientId: params.get('client_id'), clientSecret: params.get('client_secret') };
}

