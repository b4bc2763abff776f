import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { KeyRing } from '../keys/key-ring.js';
import { SIGNING_ALGORITHMS } from '../keys/signing-key.js';
import { REFRESH_TOKEN_TYP } from './refresh-token.js';

/** Far above any token this issuer makes; longer input is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 8192;

export class TokenRejectedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'TokenRejectedError';
  }
}

/** Seconds of clock difference allowed between instances for `exp` and `iat`. */
const CLOCK_TOLERANCE_SECONDS = 5;

/**
 * Verifies a token this issuer made: an asymmetric algorithm we sign with, matching the key's, a key from our own key ring only (no `jku`, `x5u`
 * or `jwk` header is ever followed; refresh tokens only with the unpublished refresh keys), exact
 * `iss`, the expected `typ`, `exp`, and an `iat` not in the future (RFC 8725, RFC 7519 §4.1.6).
 */
export async function verifyOwnToken(
  keyRing: KeyRing,
  expected: {
    issuer: string;
    typ: string;
    audience?: string;
    /** Accept a token this long past `exp`: an id token as a logout hint (RP-Initiated Logout §2). */
    expiredToleranceSeconds?: number;
  },
  token: string,
): Promise<JWTPayload> {
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
    throw new TokenRejectedError('malformed token');
  }
  try {
    const keys = expected.typ === REFRESH_TOKEN_TYP ? keyRing.refreshVerificationKeys() : keyRing.verificationKeys();
    const { payload } = await jwtVerify(token, keys, {
      // The key decides: each published key carries its `alg`, and jose refuses a token whose header names another.
      algorithms: [...SIGNING_ALGORITHMS],
      issuer: expected.issuer,
      typ: expected.typ,
      audience: expected.audience,
      requiredClaims: ['exp', 'iat', 'sub'],
      clockTolerance: expected.expiredToleranceSeconds ?? CLOCK_TOLERANCE_SECONDS,
    });
    if (payload.iat! > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) throw new TokenRejectedError('issued in the future');
    return payload;
  } catch (error) {
    if (error instanceof errors.JOSEError) throw new TokenRejectedError(error.code);
    throw error;
  }
}
