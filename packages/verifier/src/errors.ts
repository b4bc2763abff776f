/**
 * Why a token was refused:
 * - `invalid_token`: not a valid access token of this issuer for this audience (see `reason`);
 * - `revoked`: valid, but on the issuer's denylist;
 * - `denylist_unavailable`: the denylist copy is too stale to trust (see `whenStale`);
 * - `jwks_unavailable`: the issuer's keys could not be fetched;
 * - `issuer_mismatch`: a configuration mistake of this service: the issuer's discovery document
 *   names a different issuer than the `issuer` option (compare them character by character).
 */
export type VerificationErrorCode = 'invalid_token' | 'revoked' | 'denylist_unavailable' | 'jwks_unavailable' | 'issuer_mismatch';

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
