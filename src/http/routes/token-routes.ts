import { describeCurrentSpan, inSpan } from '../../tracing/spans.js';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { authenticateClient, clientCredentialsOf } from '../../clients/authenticate-client.js';
import { ApiError, invalidRequest, unauthorizedClient, unsupportedGrantType } from '../../errors.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { GrantDependencies } from '../../grants/grant.js';
import type { TokenParams } from '../../request-parameters.js';
import { findGrant } from '../../grants/registry.js';
import type { AppEnv } from '../app-env.js';
import { mediaTypeOf, readForm, refuseQueryString } from '../form.js';
import { readJson } from '../json-body.js';
import { requestContextOf } from '../middleware/request-context.js';
import { NO_STORE } from '../no-store.js';

/** The JSON body /refresh also accepts; nothing else may be in it. */
const refreshJsonBody = z
  .object({
    refresh_token: z.string(),
    scope: z.string().optional(),
    client_id: z.string().optional(),
    client_secret: z.string().optional(),
  })
  .strict();

/**
 * POST /token (RFC 6749 §3.2): authenticate the client, hand over to the grant. POST /refresh is
 * the first-party shortcut for the refresh grant, in JSON or form encoding, with the same answers.
 */
export function tokenRoutes(deps: GrantDependencies, metrics?: Metrics): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  /** Counts every answer of the token endpoint: issued by grant type, refused by error code. */
  async function exchange(c: Context<AppEnv>, params: TokenParams, grantType: string | undefined) {
    try {
      const response = await inSpan('token grant', { 'oauth.grant_type': grantType ?? '' }, () => issue(c, params, grantType));
      metrics?.tokensIssued.inc({ grant_type: grantType });
      return response;
    } catch (error) {
      metrics?.tokenErrors.inc({ error: error instanceof ApiError ? error.code : 'server_error' });
      throw error;
    }
  }

  async function issue(c: Context<AppEnv>, params: TokenParams, grantType: string | undefined) {
    if (!grantType) throw invalidRequest('the grant_type parameter is required');
    const grant = findGrant(grantType);
    if (!grant) throw unsupportedGrantType('this grant_type is not supported');
    const ownCredential = grant.withoutClient?.(params);
    if (ownCredential) {
      // One credential per request: the API key is the caller's, and no client speaks for it.
      if (presentsClientCredentials(c, params)) {
        throw invalidRequest('an API key is its own credential: send no client authentication with it');
      }
      return c.json(await ownCredential(deps, requestContextOf(c)), 200, { ...NO_STORE, Pragma: 'no-cache' });
    }

    const client = await authenticateClient(
      deps.clients,
      clientCredentialsOf(c.req.header('Authorization'), params, requestContextOf(c).ipAddress),
      deps.assertions,
    );
    c.set('client', client);
    describeCurrentSpan({ 'oauth.client_id': client.id });
    if (!client.grantTypes.includes(grantType)) {
      throw unauthorizedClient(`this client may not use the ${grantType} grant`);
    }
    // Checked before the grant changes anything: an id token it could not sign would come after a
    // session was started or a refresh token spent.
    if (client.idTokenAlgorithm && !deps.signer.keyRing.signsWith(client.idTokenAlgorithm)) {
      throw unauthorizedClient(
        `this client requires id tokens signed with ${client.idTokenAlgorithm}, which this issuer does not sign with now (id_token_signing_alg_values_supported)`,
      );
    }
    const response = await grant.handle(params, client, deps, requestContextOf(c));
    // RFC 6749 §5.1: token responses must not be stored by any cache.
    return c.json(response, 200, { ...NO_STORE, Pragma: 'no-cache' });
  }

  routes.post('/token', async function issueToken(c) {
    refuseQueryString(c);
    const params = await readForm(c);
    return exchange(c, params, params.get('grant_type'));
  });

  routes.post('/refresh', async function refresh(c) {
    refuseQueryString(c);
    const params = mediaTypeOf(c) === 'application/json' ? await readRefreshJson(c) : await readForm(c);
    return exchange(c, params, 'refresh_token');
  });

  return routes;
}

function presentsClientCredentials(c: Context<AppEnv>, params: TokenParams): boolean {
  const credentials = clientCredentialsOf(c.req.header('Authorization'), params);
  return Object.values(credentials).some((value) => value !== undefined);
}

async function readRefreshJson(c: Context): Promise<TokenParams> {
  const parsed = refreshJsonBody.safeParse(await readJson(c));
  if (!parsed.success) {
    throw invalidRequest('the JSON body takes refresh_token (a string) and optionally scope, client_id, client_secret');
  }
  const values = parsed.data as Record<string, string | undefined>;
  return {
    get: (name) => (values[name] === '' ? undefined : values[name]),
    getAll: (name) => (values[name] ? [values[name]] : []),
  };
}
