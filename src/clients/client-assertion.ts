import { decodeJwt, jwtVerify } from 'jose';
import { keySets } from './public-keys.js';
import { invalidClient } from '../errors.js';
import { isSafeText } from '../text.js';
import { endpointUrl } from '../tokens/issuer-resources.js';
import type { ClientRow } from '../db/schema.js';
import type { FederatedAssertionVerifier } from '../federation/federated-assertion.js';
import type { OutboundFetch } from '../outbound/outbound-fetch.js';
import type { IpBudget } from '../throttle/ip-budget.js';

/** RFC 7523 §2.2: the one client assertion type. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Asymmetric only: an HMAC assertion would need a shared secret, which is what this method avoids. */
export const ASSERTION_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
/** An assertion may not be valid for longer than this: it is a one-time credential. */
const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** How far apart this server's clock and the signer's may be. */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** Remembers each assertion's `jti` until it expires; `claim` is false when it was seen before. */
export interface ReplayCache {
  /** Throws DependencyUnavailableError when the shared store cannot answer. */
  claim(key: string, ttlSeconds: number): Promise<boolean>;
}

export interface AssertionVerifierOptions {
  issuer: string;
  replays: ReplayCache;
  /** Least seconds between two fetches of a client's jwks_uri for a key it does not know. */
  jwksCooldownSeconds: number;
  /** How a client's jwks_uri is fetched (outbound/outbound-fetch.ts). */
  fetch: OutboundFetch;
}

export type AssertionVerifier = (row: ClientRow, assertion: string, usedHeader: boolean) => Promise<void>;

/** The two kinds of client assertion (RFC 7521 §4.2), told apart by their `iss`, and the limit on refusals. */
export interface ClientAssertionVerifiers {
  /** private_key_jwt: the client signed it itself (`iss` = `sub` = client_id). */
  ownKey: AssertionVerifier;
  /** Workload identity federation: a trusted external issuer signed it (federation/federated-assertion.ts). */
  federated: FederatedAssertionVerifier;
  /** Refused authentications of every kind, counted per client IP (throttle/ip-budget.ts). */
  refusals: IpBudget;
}

/**
 * draft-ietf-oauth-rfc7523bis §4 and the OpenID Foundation's 2025 audience-injection fix: an
 * assertion's `aud` names this server and nothing else, so that no other server can replay it
 * here, nor this one there. A list is accepted when every value in it is one of `ours`.
 */
export function namesOnly(aud: unknown, ours: readonly string[]): boolean {
  const values = Array.isArray(aud) ? aud : [aud];
  return values.length > 0 && values.every((value) => typeof value === 'string' && ours.includes(value));
}

/** The client a JWT assertion names (`iss` = `sub` = client_id), read before anything is verified. */
export function assertedClientId(assertion: string): string | undefined {
  try {
    const { iss, sub } = decodeJwt(assertion);
    return typeof iss === 'string' && iss === sub && isSafeText(iss) ? iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * private_key_jwt (RFC 7523 §2.2 and §3, OpenID Connect Core §9): the assertion is signed by one of
 * the client's registered keys with an asymmetric algorithm; `iss` and `sub` are its client_id;
 * `aud` is this issuer (or, for older clients, its token endpoint) and nothing else; `exp` is set
 * and at most five minutes ahead; and its
 * `jti` was never presented before within its lifetime (shared across instances through Redis).
 * Every failure is `invalid_client`.
 */
export function createAssertionVerifier(options: AssertionVerifierOptions): AssertionVerifier {
  const keysOf = keySets(options.jwksCooldownSeconds, options.fetch);
  const audiences = [options.issuer, endpointUrl(options.issuer, '/token')];

  return async function verifyAssertion(row, assertion, usedHeader) {
    const keys = keysOf({ owner: row.id, jwks: row.jwks, jwksUri: row.jwksUri });
    if (!keys) throw invalidClient(usedHeader);
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, keys, {
        algorithms: ASSERTION_ALGORITHMS,
        issuer: row.id,
        subject: row.id,
        audience: audiences,
        requiredClaims: ['exp', 'jti'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch {
      // A bad signature, claim or algorithm, or keys its jwks_uri did not serve: all the same to the client.
      throw invalidClient(usedHeader);
    }
    if (!namesOnly(payload.aud, audiences)) throw invalidClient(usedHeader);
    const now = Date.now() / 1000;
    const exp = payload.exp!;
    if (exp > now + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) throw invalidClient(usedHeader);
    if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) throw invalidClient(usedHeader);
    const ttl = Math.max(1, Math.ceil(exp - now + CLOCK_TOLERANCE_SECONDS));
    if (!(await options.replays.claim(`${row.id}:${payload.jti}`, ttl))) throw invalidClient(usedHeader);
  };
}
