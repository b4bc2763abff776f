import { createHash } from 'node:crypto';
import { decodeJwt, errors, jwtVerify } from 'jose';
import { recordAuditEvent, type AuditSink } from '../audit/audit-log.js';
import { ASSERTION_ALGORITHMS, CLOCK_TOLERANCE_SECONDS, namesOnly, type ReplayCache } from '../clients/client-assertion.js';
import { keySets } from '../clients/public-keys.js';
import type { ClientDirectory } from '../clients/client-directory.js';
import type { Database } from '../db/database.js';
import type { ClientRow } from '../db/schema.js';
import { DependencyUnavailableError, invalidClient } from '../errors.js';
import type { OutboundFetch } from '../outbound/outbound-fetch.js';
import type { IpBudget } from '../throttle/ip-budget.js';
import { isSafeText } from '../text.js';
import { bindingMatches, federationOf } from './trusted-issuers.js';

export interface FederationVerifierOptions {
  db: Database;
  clients: ClientDirectory;
  replays: ReplayCache;
  /** Least seconds between two fetches of an issuer's jwks_uri for a key it does not know. */
  jwksCooldownSeconds: number;
  /** How an issuer's jwks_uri is fetched (outbound/outbound-fetch.ts). */
  fetch: OutboundFetch;
  audit: AuditSink;
  /** Refusals counted per client IP: past the limit, 429 and no audit row (throttle/ip-budget.ts). */
  refusals: IpBudget;
}

/** The request around the assertion: the client_id it names, if any, and where it came from. */
export interface FederatedRequest {
  clientId: string | undefined;
  ipAddress: string | undefined;
}

/** Authenticates a workload by its platform token: the client it is bound to, or `invalid_client`. */
export type FederatedAssertionVerifier = (assertion: string, request: FederatedRequest) => Promise<ClientRow>;

/** Why a platform token was refused: the audit event says it, the client only hears `invalid_client`. */
type Refusal =
  | 'unknown_issuer'
  | 'bad_signature'
  | 'expired'
  | 'wrong_audience'
  | 'too_old'
  | 'invalid_claims'
  | 'not_bound'
  | 'ambiguous_binding'
  | 'replayed';

/** 503: the workload may be right, and asks again later. */
class KeysUnavailable extends DependencyUnavailableError {
  constructor(
    readonly issuer: string,
    cause: unknown,
  ) {
    super('trusted issuer keys', { cause });
  }
}

class Refused extends Error {
  constructor(
    readonly reason: Refusal,
    readonly clientId?: string,
  ) {
    super(reason);
  }
}

/**
 * Workload identity federation: a workload presents the token its platform gave it (a Kubernetes
 * service-account token, a GitHub Actions OIDC token, a SPIFFE JWT-SVID) as its client assertion
 * (RFC 7523 §2.2, RFC 7521 §4.2). It authenticates as the client a binding names when the token is
 * signed by the trusted issuer's keys with an asymmetric algorithm; its `iss` is that issuer and its
 * `aud` the audience registered for it, exactly and alone; it has not expired and is younger than the issuer's
 * maximum age by its `iat`; its `sub` and claims meet the binding's conditions; and it was never
 * presented before (by its `jti`, or the whole token when it has none; shared across instances
 * through Redis). Every refusal is `invalid_client` to the caller and an audit event saying why.
 */
export function createFederatedAssertionVerifier(options: FederationVerifierOptions): FederatedAssertionVerifier {
  const keysOf = keySets(options.jwksCooldownSeconds, options.fetch);

  async function authenticate(assertion: string, issuer: string, request: FederatedRequest): Promise<ClientRow> {
    const federation = await federationOf(options.db, issuer);
    if (!federation) throw new Refused('unknown_issuer');
    const { trusted, identities } = federation;
    let claims: Record<string, unknown>;
    try {
      // Every trusted issuer has jwks or a jwks_uri (newTrustedIssuerSchema).
      const keys = keysOf({ owner: trusted.issuer, jwks: trusted.jwks, jwksUri: trusted.jwksUri })!;
      ({ payload: claims } = await jwtVerify(assertion, keys, {
        algorithms: ASSERTION_ALGORITHMS,
        issuer: trusted.issuer,
        audience: trusted.audience,
        requiredClaims: ['exp', 'iat', 'sub'],
        maxTokenAge: trusted.maxTokenAgeSeconds,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (error) {
      if (isKeysUnavailable(error)) throw new KeysUnavailable(trusted.issuer, error);
      throw new Refused(refusalOf(error));
    }
    // The registered audience alone: a token also meant for another service is not presented here.
    if (!namesOnly(claims.aud, [trusted.audience])) throw new Refused('wrong_audience');

    const bound = new Set(
      identities
        .filter((identity) => bindingMatches(identity, claims))
        .map((identity) => identity.clientId)
        .filter((id) => request.clientId === undefined || id === request.clientId),
    );
    if (bound.size === 0) throw new Refused('not_bound', request.clientId);
    // Two clients bound to the same workload: it says which with client_id.
    if (bound.size > 1) throw new Refused('ambiguous_binding');
    const [clientId] = bound as Set<string>;
    const row = await options.clients.find(clientId!);
    if (!row?.federated) throw new Refused('not_bound', clientId);

    // Remembered until the token could no longer pass anyway: its expiry or its maximum age.
    const now = Date.now() / 1000;
    const usableUntil = Math.min(claims.exp as number, (claims.iat as number) + trusted.maxTokenAgeSeconds);
    const ttl = Math.max(1, Math.ceil(usableUntil - now + CLOCK_TOLERANCE_SECONDS));
    const presented = typeof claims.jti === 'string' && claims.jti !== '' ? `jti ${claims.jti}` : `token ${assertion}`;
    const replayKey = `federated:${createHash('sha256').update(`${trusted.issuer}\n${presented}`).digest('base64url')}`;
    if (!(await options.replays.claim(replayKey, ttl))) throw new Refused('replayed', row.id);
    return row;
  }

  return async function verifyFederatedAssertion(assertion, request) {
    let claimed: Record<string, unknown>;
    try {
      claimed = decodeJwt(assertion);
    } catch {
      throw invalidClient(false);
    }
    const { iss, sub } = claimed;
    // An issuer PostgreSQL could not even look up is no trusted one (text.ts).
    if (typeof iss !== 'string' || !isSafeText(iss)) throw invalidClient(false);
    try {
      return await authenticate(assertion, iss, request);
    } catch (error) {
      if (!(error instanceof Refused || error instanceof KeysUnavailable)) throw error;
      // Before the audit row: anyone can send tokens from an unknown issuer, and rows are kept for months.
      if (error instanceof Refused) await options.refusals.spend(request.ipAddress);
      const reason = error instanceof Refused ? error.reason : 'issuer_keys_unavailable';
      await recordAuditEvent(options.db, options.audit, {
        type: 'client_authentication_failed',
        clientId: error instanceof Refused ? error.clientId : undefined,
        ipAddress: request.ipAddress,
        // What the token claimed, cut short: it may come from anyone.
        details: {
          method: 'federation',
          reason,
          issuer: shortened(iss),
          ...(typeof sub === 'string' && isSafeText(sub) ? { subject: shortened(sub) } : {}),
        },
      });
      if (error instanceof KeysUnavailable) throw error;
      throw invalidClient(false);
    }
  };
}

/** At most 200 characters, cut between code points so that no surrogate is left unpaired. */
const shortened = (text: string) => Array.from(text).slice(0, 200).join('');

/** The reason behind jose's verdict. */
function refusalOf(error: unknown): Refusal {
  // jose reports a token older than maxTokenAge as expired, naming `iat`.
  if (error instanceof errors.JWTExpired) return error.claim === 'iat' ? 'too_old' : 'expired';
  if (error instanceof errors.JWTClaimValidationFailed) return error.claim === 'aud' ? 'wrong_audience' : 'invalid_claims';
  return 'bad_signature';
}

/** The issuer's jwks_uri did not answer (timeout, refused, not 200, not JSON): not the workload's fault. */
function isKeysUnavailable(error: unknown): boolean {
  return (
    error instanceof errors.JWKSTimeout ||
    error instanceof TypeError ||
    (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC')
  );
}
