import { inVerifierSpan } from './tracing.js';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { Redis } from 'ioredis';
import type { RedisClient } from './denylist-mirror.js';
import { createDenylistMirror, type DenylistState } from './denylist-mirror.js';
import { VerificationError } from './errors.js';
import { createApiKeyExchanger, type ApiKeyOptions } from './api-key-exchange.js';
import { followRevocationFeed, type FeedOptions, type FollowedRevocations } from './revocation-feed-follower.js';
import { actorsOf } from './delegation.js';
import { discoverMetadata, IssuerMismatchError } from './discovery.js';
import { createRemoteKeySet } from './remote-key-set.js';
import type { RevocationFacts, RevocationReason } from './revocation-table.js';

/** The verified caller. */
export interface Principal {
  /** The user id, or the client id for a client acting for itself. */
  sub: string;
  clientId: string;
  scope: string[];
  roles: string[];
  /**
   * Who acts for `sub`, nearest first, from the `act` chain of a token obtained by token exchange
   * (RFC 8693 §4.1): the calling service, then the one that called it, and so on. Empty otherwise.
   */
  actors: string[];
  /** Every claim of the token. */
  claims: JWTPayload;
}

export interface DenylistOptions {
  /**
   * The issuer's revocation feed over HTTPS, read as a machine client with the scope
   * `revocations:read` (found by discovery): what a service outside the issuer's network needs,
   * and the only way against an embedded issuer. Give this or `redis`.
   */
  feed?: FeedOptions;
  /** A Redis URL, or an ioredis client or Cluster (ioredis is then not imported by the library). */
  redis?: string | RedisClient;
  /** The issuer's REDIS_KEY_PREFIX. Default `token-issuer:`. */
  prefix?: string;
  /** How long a disconnected copy is trusted, in seconds. Default 30. */
  maxStalenessSeconds?: number;
  /**
   * Past `maxStalenessSeconds`: `reject` (the default) refuses every token with
   * `denylist_unavailable`, so a revoked token is never accepted; `accept` keeps accepting tokens
   * not in the last copy, preferring availability to prompt revocation.
   */
  whenStale?: 'reject' | 'accept';
}

export interface VerifierOptions {
  /** The issuer URL, exactly as in the tokens' `iss`. */
  issuer: string;
  /**
   * This service's audience; a token's `aud` must contain it. A service known by several names
   * gives them all, and a token for any one of them is accepted.
   */
  audience: string | readonly string[];
  /** Found by discovery (`<issuer>/.well-known/oauth-authorization-server`) when not given. */
  jwksUri?: string;
  /** A fixed key set instead of fetching one (tests, air-gapped setups). */
  jwks?: JSONWebKeySet;
  /**
   * Default: the algorithms the issuer signs with (RS256, PS256, ES256, EdDSA), and each key in its
   * JWKS names its own `alg`, which a token's header must match: so what is accepted follows what
   * the issuer publishes (its metadata's `id_token_signing_alg_values_supported`), and a change of
   * algorithm at the issuer needs no change here. Symmetric algorithms and `none` are refused here.
   */
  algorithms?: string[];
  /** Allowed clock skew in seconds. Default 30; at most 60. Also how far in the future `iat` may be. */
  clockTolerance?: number;
  /** Refuse tokens issued longer ago than this many seconds (`iat`), whatever their `exp`. */
  maxTokenAge?: number;
  /**
   * Seconds before the JWKS is refreshed. Default 60 (the issuer's max-age). When a refresh fails
   * the last keys stay in use, so verification continues while the issuer is down.
   */
  jwksCacheMaxAge?: number;
  /** Least seconds between two JWKS fetches for unknown `kid`s. Default 5. */
  jwksCooldown?: number;
  /**
   * The keys as a jose key resolver, asked for on every verification: for a service that holds the
   * issuer's keys in memory (the issuer itself). Takes the place of `jwks` and `jwksUri`.
   */
  keySet?: () => JWTVerifyGetKey;
  /**
   * Check the token against the issuer's revocations, pushed through Redis: its `jti`, and the
   * cut-offs of its subject, client, session (`sid`), signing key (`kid`), and of every token.
   */
  denylist?: DenylistOptions;
  /**
   * Ask a revocation store on every verification instead of holding a mirror. When it throws, the
   * token is refused with `denylist_unavailable`, never accepted.
   */
  revocations?: RevocationStore;
  /**
   * Accept API keys (`tik_…`) too, through `verifyApiKey` and `requireAuth`: each key is exchanged
   * at the issuer's token endpoint for a token of this service's (first) audience, once, and the
   * token kept for its life, so requests with a key are verified locally like any other.
   */
  apiKeys?: boolean | ApiKeyOptions;
  /**
   * Where the verifier says what happens to its denylist copy, once per change (lost Redis, a set
   * no issuer marked complete, complete again). Default: `console`. Never a token or a password.
   */
  logger?: Logger;
}

/** What the verifier logs through: `console`, pino and most loggers fit. */
export interface Logger {
  warn(message: string): void;
  info(message: string): void;
}

/** An authoritative revocation store, e.g. the issuer's own denylist. */
export interface RevocationStore {
  /** Why the token is revoked, or undefined when it is not. */
  refusal(token: RevocationFacts): Promise<RevocationReason | undefined>;
}

export interface Verifier {
  /** The principal of a valid, unrevoked access token; otherwise a VerificationError. Never throws anything else. */
  verify(token: string): Promise<Principal>;
  /**
   * The principal of an API key (`apiKeys` on): the token it was exchanged for, verified like any
   * other. A VerificationError otherwise (`invalid_token` when keys are not accepted here).
   */
  verifyApiKey(key: string): Promise<Principal>;
  /** Whether `apiKeys` was given: `requireAuth` reads `X-API-Key` only then. */
  readonly acceptsApiKeys: boolean;
  /** Closes the denylist connections it opened. */
  close(): Promise<void>;
}

/** Far above any access token of this issuer; longer input is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 8192;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$/;
/** What token-issuer can sign with (its SIGNING_ALGORITHM). */
const ISSUER_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
/** Headers that would let a token choose its own key (RFC 8725 §3.10). */
const KEY_BEARING_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'];
const FIRST_LOAD_WAIT_MS = 2000;

/**
 * Verifies this issuer's access tokens locally: keys from its JWKS (cached; refetched for an unknown
 * `kid` at most once per cooldown), revocations from the pushed denylist. RFC 9068 and RFC 8725 rules:
 * an algorithm allowlist, `typ` `at+jwt`, exact `iss`, `aud` containing this service, `exp` required,
 * key-bearing headers and unknown `crit` refused.
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const settings = checkOptions(options);
  const keys = keyResolver(options, settings);
  const denylist = options.denylist
    ? openDenylist(options.denylist, options.logger ?? console, settings.issuer)
    : options.revocations && askStore(options.revocations);

  const verify = (token: string): Promise<Principal> =>
    inVerifierSpan(
      'token-issuer verify',
      () => verifyToken(token),
      (error) => (error instanceof VerificationError ? `${error.code}: ${error.reason}` : 'error'),
    );

  async function verifyToken(token: string): Promise<Principal> {
    checkShape(token);
    let payload: JWTPayload;
    let kid: string | undefined;
    try {
      let protectedHeader: { kid?: string };
      ({ payload, protectedHeader } = await jwtVerify(token, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: settings.algorithms,
        typ: 'at+jwt',
        clockTolerance: settings.clockTolerance,
        maxTokenAge: settings.maxTokenAge,
        requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id'],
      }));
      kid = protectedHeader.kid;
    } catch (error) {
      throw asVerificationError(error);
    }
    // RFC 7519 §4.1.6: a token from the future was not issued by an honest clock.
    if (Number(payload.iat) > Date.now() / 1000 + settings.clockTolerance) throw new VerificationError('invalid_token', 'claim_iat');
    if (denylist) await denylist.check(revocationFacts(payload, kid));
    return principalOf(payload);
  }
  const apiKeys =
    options.apiKeys &&
    createApiKeyExchanger(
      { issuer: settings.issuer, audience: settings.audience[0]!, options: options.apiKeys === true ? {} : options.apiKeys },
      verify,
    );

  return {
    verify,
    acceptsApiKeys: Boolean(apiKeys),
    async verifyApiKey(key) {
      if (!apiKeys) throw new VerificationError('invalid_token', 'api_keys_not_accepted');
      return apiKeys.verifyApiKey(key);
    },
    async close() {
      await denylist?.close();
    },
  };
}

function checkOptions(options: VerifierOptions) {
  if (!options.issuer || !URL.canParse(options.issuer)) throw new TypeError('createVerifier: issuer must be a URL');
  const audience = typeof options.audience === 'string' ? [options.audience] : [...(options.audience ?? [])];
  if (audience.length === 0 || !audience.every((value) => typeof value === 'string' && value !== '')) {
    throw new TypeError('createVerifier: audience is required');
  }
  const algorithms = options.algorithms ?? [...ISSUER_ALGORITHMS];
  if (algorithms.length === 0 || !algorithms.every((alg) => ASYMMETRIC.test(alg))) {
    throw new TypeError('createVerifier: algorithms must be asymmetric JWS algorithms such as RS256');
  }
  const clockTolerance = options.clockTolerance ?? 30;
  if (!(clockTolerance >= 0 && clockTolerance <= 60)) throw new TypeError('createVerifier: clockTolerance is 0 to 60 seconds');
  const { maxTokenAge } = options;
  if (options.denylist?.feed !== undefined) {
    const { feed, redis } = options.denylist;
    if (redis !== undefined) throw new TypeError('createVerifier: denylist takes feed or redis, not both');
    if (!feed.clientId || (feed.clientSecret === undefined) === (feed.privateKey === undefined)) {
      throw new TypeError('createVerifier: denylist.feed needs clientId and either clientSecret or privateKey');
    }
  } else if (options.denylist !== undefined) {
    const { redis } = options.denylist;
    if (typeof redis === 'string' ? !/^rediss?:\/\//.test(redis) : typeof redis?.zrangebyscore !== 'function') {
      throw new TypeError(
        'createVerifier: denylist.redis must be the Redis URL (redis://…) of the issuer, or an ioredis client; an issuer without Redis (the embedded mode) has no denylist to follow: leave denylist out',
      );
    }
  }
  if (maxTokenAge !== undefined && !(Number.isFinite(maxTokenAge) && maxTokenAge > 0))
    throw new TypeError('createVerifier: maxTokenAge is a number of seconds above 0');
  return {
    maxTokenAge,
    issuer: options.issuer,
    audience,
    algorithms,
    clockTolerance,
    jwksUri: options.jwksUri,
    cacheMaxAgeMs: (options.jwksCacheMaxAge ?? 60) * 1000,
    cooldownMs: (options.jwksCooldown ?? 5) * 1000,
  };
}

function keyResolver(options: VerifierOptions, settings: ReturnType<typeof checkOptions>): JWTVerifyGetKey {
  const { keySet } = options;
  if (keySet) return (header, token) => keySet()(header, token);
  return options.jwks ? createLocalJWKSet(options.jwks) : remoteKeys(settings);
}

/** The issuer's JWKS, its address found by discovery (RFC 8414) unless given. */
function remoteKeys(settings: ReturnType<typeof checkOptions>): JWTVerifyGetKey {
  let keySet: Promise<JWTVerifyGetKey> | undefined;
  const load = async () => {
    const uri = settings.jwksUri ?? (await discoverMetadata(settings.issuer)).jwks_uri;
    return createRemoteKeySet(new URL(uri), { maxAgeMs: settings.cacheMaxAgeMs, cooldownMs: settings.cooldownMs, timeoutMs: 5000 });
  };
  return async (header, token) => {
    keySet ??= load().catch((error: unknown) => {
      keySet = undefined; // try discovery again next time
      throw error;
    });
    return (await keySet)(header, token);
  };
}

/** Cheap checks before any cryptography: size, shape, and no key-bearing headers. */
function checkShape(token: unknown): asserts token is string {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new VerificationError('invalid_token', 'malformed');
  if (!COMPACT_JWS.test(token)) throw new VerificationError('invalid_token', 'malformed');
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    throw new VerificationError('invalid_token', 'malformed');
  }
  if (KEY_BEARING_HEADERS.some((name) => name in header)) throw new VerificationError('invalid_token', 'key_in_header');
}

function asVerificationError(error: unknown): VerificationError {
  if (error instanceof IssuerMismatchError)
    return new VerificationError('issuer_mismatch', 'issuer_mismatch', { cause: error, message: error.message });
  if (!(error instanceof errors.JOSEError)) {
    // The key set could not be fetched (network, discovery, timeout): not the token's fault.
    return new VerificationError('jwks_unavailable', 'jwks_unavailable', { cause: error });
  }
  if (error instanceof errors.JWTExpired) return new VerificationError('invalid_token', 'expired');
  if (error instanceof errors.JWTClaimValidationFailed) return new VerificationError('invalid_token', `claim_${error.claim}`);
  if (error instanceof errors.JWKSNoMatchingKey) return new VerificationError('invalid_token', 'unknown_key');
  if (error instanceof errors.JWSSignatureVerificationFailed) return new VerificationError('invalid_token', 'bad_signature');
  if (error instanceof errors.JOSEAlgNotAllowed) return new VerificationError('invalid_token', 'algorithm_not_allowed');
  return new VerificationError('invalid_token', error.code.replace(/^ERR_/, '').toLowerCase());
}

function openDenylist(options: DenylistOptions, logger: Logger, issuer: string) {
  const maxStaleness = options.maxStalenessSeconds ?? 30;
  const whenStale = options.whenStale ?? 'reject';
  const prefix = options.prefix ?? 'token-issuer:';
  const { feed } = options;
  const mirror: Promise<{ mirror: FollowedRevocations; owned?: Redis }> = (async () => {
    if (feed) {
      const onStateChange = (state: DenylistState) => reportFeed(logger, state, whenStale, maxStaleness);
      return { mirror: followRevocationFeed({ issuer, feed, onStateChange }) };
    }
    const owned = typeof options.redis === 'string' ? new (await import('ioredis')).Redis(options.redis) : undefined;
    owned?.on('error', () => {}); // it reconnects by itself; the mirror's state says what matters
    const redis = owned ?? (options.redis as RedisClient);
    const onStateChange = (state: DenylistState) => reportDenylist(logger, state, prefix, whenStale, maxStaleness);
    return { mirror: createDenylistMirror({ redis, prefix, onStateChange }), owned };
  })();

  return {
    async check(token: RevocationFacts) {
      const { mirror: copy } = await mirror;
      // The first request may come before the first read of the set; after it, no request waits.
      if (copy.staleness() === Number.POSITIVE_INFINITY) {
        await Promise.race([copy.ready, copy.loaded, new Promise((resolve) => setTimeout(resolve, FIRST_LOAD_WAIT_MS).unref())]);
      }
      if (copy.staleness() > maxStaleness && whenStale === 'reject') {
        throw new VerificationError('denylist_unavailable', 'denylist_stale');
      }
      const reason = copy.refusal(token);
      if (reason) throw new VerificationError('revoked', reason);
    },
    async close() {
      const { mirror: copy, owned } = await mirror;
      await copy.close();
      owned?.disconnect();
    },
  };
}

/** One line per change of the feed's state, saying what it means for the tokens. */
function reportFeed(logger: Logger, state: DenylistState, whenStale: 'reject' | 'accept', maxStaleness: number) {
  if (state.state === 'complete') logger.info('token-issuer verifier: following the revocation feed');
  else
    logger.warn(
      `token-issuer verifier: cannot follow the revocation feed (${state.state === 'disconnected' ? state.reason : state.state}); after ${maxStaleness} s without it, ${whenStale === 'reject' ? 'tokens are refused (denylist_unavailable) until it is back' : 'tokens are accepted without it (whenStale: accept)'}`,
    );
}

/** One line per change of the denylist copy's state, saying what it means for the tokens. */
function reportDenylist(logger: Logger, state: DenylistState, prefix: string, whenStale: 'reject' | 'accept', maxStaleness: number) {
  const consequence =
    whenStale === 'reject' ? 'tokens are refused (denylist_unavailable) until it is' : 'tokens are accepted without it (whenStale: accept)';
  if (state.state === 'complete') logger.info(`token-issuer verifier: following the denylist (prefix ${prefix})`);
  else if (state.state === 'incomplete')
    logger.warn(
      `token-issuer verifier: the denylist in this Redis (prefix ${prefix}) is not marked complete by an issuer: an issuer that uses this Redis with REDIS_KEY_PREFIX=${prefix} marks it once filled (after a Redis restart, within seconds); an issuer without Redis has no denylist here; ${consequence}`,
    );
  else
    logger.warn(`token-issuer verifier: cannot follow the denylist (${state.reason}); after ${maxStaleness} s without it, ${consequence}`);
}

function askStore(store: RevocationStore) {
  return {
    async check(token: RevocationFacts) {
      let reason: RevocationReason | undefined;
      try {
        reason = await store.refusal(token);
      } catch (error) {
        throw new VerificationError('denylist_unavailable', 'denylist_unavailable', { cause: error });
      }
      if (reason) throw new VerificationError('revoked', reason);
    },
    async close() {},
  };
}

/** What revocation looks at in a verified token: its id, subject, client, session, key and actors. */
export function revocationFacts(payload: JWTPayload, kid: string | undefined): RevocationFacts {
  const actors = actorsOf(payload);
  return {
    jti: String(payload.jti),
    iat: Number(payload.iat),
    sub: String(payload.sub),
    client_id: String(payload.client_id),
    sid: typeof payload.sid === 'string' ? payload.sid : undefined,
    kid,
    ...(actors.length > 0 ? { actors } : {}),
  };
}

function principalOf(payload: JWTPayload): Principal {
  const list = (value: unknown) => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  return {
    sub: String(payload.sub),
    clientId: String(payload.client_id),
    scope: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
    roles: list(payload.roles),
    actors: actorsOf(payload),
    claims: payload,
  };
}
