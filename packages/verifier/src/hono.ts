import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { looksLikeApiKey } from './api-key-format.js';
import { actorShortfall, type ActorRequirement } from './delegation.js';
import { VerificationError } from './errors.js';
import { userAuthenticationShortfall, type UserAuthenticationRequirement } from './user-authentication.js';
import type { Principal, Verifier } from './verifier.js';

/** The Hono context values `requireAuth` sets. */
export type AuthEnv = { Variables: { principal: Principal } };

export interface RequireAuthOptions extends UserAuthenticationRequirement {
  verifier: Verifier;
  /** Every one of these scopes is needed (403 insufficient_scope otherwise). */
  scopes?: string[];
  /** At least one of these roles is needed (403 otherwise). */
  roles?: string[];
  /**
   * The call must come through token exchange (`true`), or its nearest actor (the calling service,
   * RFC 8693 §4.1) must be one of these client ids: 403 otherwise.
   */
  requireActor?: ActorRequirement;
  /** The `realm` in WWW-Authenticate. Default `api`. */
  realm?: string;
}

/**
 * Hono middleware: a valid access token in `Authorization: Bearer`, or an RFC 6750 §3 answer —
 * no token: 401 with a bare challenge; a malformed header: 400 invalid_request; a bad, expired or
 * revoked token: 401 invalid_token; a missing scope: 403 insufficient_scope; a missing role: 403;
 * a call not made through the actor asked for (`requireActor`): 403 insufficient_delegation;
 * a sign-in without the second factor, `acr` or recency asked for (`requireMfa`, `acr`, `maxAge`):
 * 401 insufficient_user_authentication with `acr_values` and `max_age` in the challenge (RFC 9470 §3);
 * the issuer's keys or denylist unavailable: 503; this service's own issuer setting contradicting
 * the issuer's discovery document: 500 (the error's message says what differs, for the log).
 * Sets `principal` on the context.
 */
export function requireAuth(options: RequireAuthOptions): MiddlewareHandler<AuthEnv> {
  const realm = options.realm ?? 'api';
  if (/["\\]/.test(realm)) throw new TypeError('requireAuth: realm must not contain quotes or backslashes');
  const scopes = options.scopes ?? [];
  const roles = options.roles ?? [];

  // Through c.json, so headers set earlier by the application's middleware stay on the answer.
  const refuse = (
    c: Context,
    status: ContentfulStatusCode,
    error: string,
    description: string,
    challenge?: string,
    extra: Record<string, string> = {},
  ) =>
    c.json({ error, error_description: description }, status, {
      'Cache-Control': 'no-store',
      ...(challenge === undefined ? {} : { 'WWW-Authenticate': `Bearer realm="${realm}"${challenge}` }),
      ...extra,
    });

  return async function authenticate(c, next) {
    const header = c.req.header('Authorization');
    // Opt-in: a service that does not take keys ignores the header, as it did before keys existed.
    const apiKey = options.verifier.acceptsApiKeys ? c.req.header('X-API-Key') : undefined;
    if (header === undefined && apiKey === undefined) return refuse(c, 401, 'invalid_token', 'a bearer access token is required', '');
    const match = header === undefined ? undefined : /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if ((header !== undefined && !match) || (header !== undefined && apiKey !== undefined)) {
      return refuse(
        c,
        400,
        'invalid_request',
        'send one credential: "Authorization: Bearer <token>", or an API key in X-API-Key',
        ', error="invalid_request"',
      );
    }
    const credential = apiKey ?? match![1]!;

    let principal: Principal;
    try {
      principal =
        apiKey !== undefined || looksLikeApiKey(credential)
          ? await options.verifier.verifyApiKey(credential)
          : await options.verifier.verify(credential);
    } catch (error) {
      if (!(error instanceof VerificationError)) throw error;
      if (error.code === 'invalid_token' || error.code === 'revoked') {
        const description =
          error.code === 'revoked'
            ? 'the access token has been revoked'
            : error.reason === 'api_keys_not_accepted'
              ? 'this service does not accept API keys'
              : 'the access token is invalid';
        return refuse(c, 401, 'invalid_token', description, `, error="invalid_token", error_description="${description}"`);
      }
      if (error.code === 'issuer_mismatch') throw error;
      return refuse(c, 503, 'temporarily_unavailable', 'token verification is temporarily unavailable', undefined, { 'Retry-After': '5' });
    }

    const missing = scopes.filter((scope) => !principal.scope.includes(scope));
    if (missing.length > 0) {
      return refuse(
        c,
        403,
        'insufficient_scope',
        `the access token needs the scope ${scopes.join(' ')}`,
        `, error="insufficient_scope", scope="${scopes.join(' ')}"`,
      );
    }
    if (roles.length > 0 && !roles.some((role) => principal.roles.includes(role))) {
      return refuse(c, 403, 'insufficient_role', `the caller needs one of the roles ${roles.join(', ')}`);
    }
    const notDelegated = actorShortfall(principal.actors, options.requireActor);
    if (notDelegated) return refuse(c, 403, 'insufficient_delegation', notDelegated);
    const shortfall = userAuthenticationShortfall(principal, options);
    if (shortfall) {
      const challenge = [
        `, error="insufficient_user_authentication", error_description="${shortfall.description}"`,
        shortfall.acrValues ? `, acr_values="${shortfall.acrValues}"` : '',
        shortfall.maxAge !== undefined ? `, max_age=${shortfall.maxAge}` : '',
      ].join('');
      return refuse(c, 401, 'insufficient_user_authentication', shortfall.description, challenge);
    }
    c.set('principal', principal);
    await next();
  };
}
