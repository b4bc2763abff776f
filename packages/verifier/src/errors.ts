/**
 * Why a token was refused:
 * - `invalid_token`: not a valid access token of this issuer for this audience (see `reason`);
 * - `revoked`: valid, but revoked by the issuer; `reason` says by which rule: `revoked` (this token),
 *   `revoked_subject`, `revoked_client`, `revoked_session`, `revoked_key` (a cut-off of its user,
 *   client, session or signing key) or `revoked_all` (every token issued up to a moment);
 * - `denylist_unavailable`: the denylist copy is too stale to trust (see `whenStale`);
 * - `jwks_unavailable`: the issuer's keys could not be fetched;
 * - `issuer_unavailable`: an API key could not be exchanged, the issuer being unreachable or failing;
 * - `issuer_mismatch`: a configuration mistake of this service: the issuer's discovery document
 *   names a different issuer than the `issuer` option (compare them character by character).
 */
export type VerificationErrorCode =
  'invalid_token' | 'revoked' | 'denylist_unavailable' | 'jwks_unavailable' | 'issuer_unavailable' | 'issuer_mismatch';

export class VerificationError extends Error {
  constructor(
    readonly code: VerificationErrorCode,
    /** A short machine-readable reason, e.g. `expired`, `audience`, `bad_signature`. */
    readonly reason: string,
    options?: { cause?: unknown; message?: string },
  ) {
    super(options?.message ? `${code}: ${options.message}` : `${code}: ${reason}`, options);
    this.name = 'VerificationError';
  }
}
