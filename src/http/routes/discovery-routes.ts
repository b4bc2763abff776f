import { type Context, Hono } from 'hono';
import { ASSERTION_ALGORITHMS } from '../../clients/client-assertion.js';
import { CLIENT_AUTH_METHODS } from '../../clients/authenticate-client.js';
import { SUPPORTED_GRANT_TYPES } from '../../grants/registry.js';
import type { KeyRing } from '../../keys/key-ring.js';
import { ACCOUNT_SCOPE, INTERNAL_SCOPES, OPENID_SCOPES } from '../../tokens/issuer-resources.js';
import { USER_CLAIMS } from '../../tokens/user-claims.js';
import { ACR_VALUES_SUPPORTED } from '../../factors/authentication-methods.js';
import { ROLE_RESTRICTED_SCOPES } from '../../users/roles.js';
import type { AppEnv } from '../app-env.js';

/** Scopes that grant the issuer's own powers (admin, introspection): registered, never advertised. */
const UNADVERTISED = new Set([...Object.keys(ROLE_RESTRICTED_SCOPES), ...INTERNAL_SCOPES]);
/** What the issuer itself serves, listed on a new issuer too: OpenID Connect's scopes and the account API. */
const SERVED_SCOPES = [...OPENID_SCOPES, ACCOUNT_SCOPE];

/** Short, so that verifiers that honour it see a rotated key within a minute. */
const JWKS_MAX_AGE_SECONDS = 60;
const METADATA_MAX_AGE_SECONDS = 300;

export interface DiscoveryOptions {
  issuer: string;
  keyRing: KeyRing;
  /** The scopes registered clients may ask for, for `scopes_supported`. */
  supportedScopes: () => Promise<string[]>;
}

/** The JWKS (RFC 7517 §5) and the server metadata (RFC 8414, OpenID Connect Discovery 1.0). */
export function discoveryRoutes(options: DiscoveryOptions): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const base = options.issuer.replace(/\/+$/, '');

  routes.get('/.well-known/jwks.json', function jwks(c) {
    const { body, etag } = options.keyRing.jwks();
    const headers = { ETag: etag, 'Cache-Control': `public, max-age=${JWKS_MAX_AGE_SECONDS}` };
    if (etagMatches(c.req.header('If-None-Match'), etag)) return c.body(null, 304, headers);
    return c.body(body, 200, { ...headers, 'Content-Type': 'application/jwk-set+json' });
  });

  const scopes = cachedScopes(options.supportedScopes);

  async function metadata(c: Context<AppEnv>) {
    const document = {
      // RFC 8414 §3.3: exactly the issuer that goes into `iss`.
      issuer: options.issuer,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      userinfo_endpoint: `${base}/userinfo`,
      revocation_endpoint: `${base}/revoke`,
      revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
      introspection_endpoint: `${base}/introspect`,
      // Confidential clients, or a bearer access token with the `introspect` scope.
      introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS.filter((method) => method !== 'none'), 'bearer'],
      jwks_uri: `${base}/.well-known/jwks.json`,
      // This issuer's own: the revocation feed verifiers follow over HTTPS (docs/security.md).
      revocation_feed_endpoint: `${base}/revocations`,
      revocation_feed_stream_endpoint: `${base}/revocations/stream`,
      grant_types_supported: SUPPORTED_GRANT_TYPES,
      token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
      // private_key_jwt assertions (RFC 8414 §2): asymmetric algorithms only.
      token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
      revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
      introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
      scopes_supported: [...new Set([...SERVED_SCOPES, ...(await scopes())])].filter((scope) => !UNADVERTISED.has(scope)),
      // The authorization code flow only, with PKCE S256 for every client (RFC 9700 §2.1.1).
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      code_challenge_methods_supported: ['S256'],
      prompt_values_supported: ['none', 'login', 'consent'],
      // RFC 9207: every authorization response carries `iss`.
      authorization_response_iss_parameter_supported: true,
      end_session_endpoint: `${base}/session/end`,
      claims_parameter_supported: false,
      request_parameter_supported: false,
      request_uri_parameter_supported: false,
      subject_types_supported: ['public'],
      // What the published keys sign with, the signing key's first: during a change of
      // SIGNING_ALGORITHM both kinds, so verifiers that follow this list accept both until the old expire.
      id_token_signing_alg_values_supported: options.keyRing.publishedAlgorithms(),
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'amr', 'acr', 'idp', 'nonce', 'sid', 'roles', ...USER_CLAIMS],
      // OpenID Connect Discovery §3: the levels `acr_values` may ask for (factors/authentication-methods.ts).
      acr_values_supported: ACR_VALUES_SUPPORTED,
    };
    return c.json(document, 200, { 'Cache-Control': `public, max-age=${METADATA_MAX_AGE_SECONDS}` });
  }
  routes.get('/.well-known/oauth-authorization-server', metadata);
  routes.get('/.well-known/openid-configuration', metadata);

  return routes;
}

/**
 * Scopes change only when clients do, so they are read at most once per metadata max-age, and the
 * last list read stands in while the database is away: discovery keeps answering.
 */
function cachedScopes(load: () => Promise<string[]>): () => Promise<string[]> {
  let value: string[] = [];
  let loadedAt = Number.NEGATIVE_INFINITY;
  return async function supportedScopes() {
    if (Date.now() - loadedAt < METADATA_MAX_AGE_SECONDS * 1000) return value;
    try {
      value = await load();
      loadedAt = Date.now();
    } catch {
      // Keep the last known list.
    }
    return value;
  };
}

/** RFC 9110 §13.1.2: weak comparison, a list of tags, or `*`. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const candidate = tag.trim();
    return candidate === '*' || candidate.replace(/^W\//, '') === etag;
  });
}
