import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { KeyRing } from '../keys/key-ring.js';
import { SIGNING_ALGORITHM } from '../keys/signing-key.js';

/** Far above any token this issuer makes; longer input is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 8192;

export class TokenRejectedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'TokenRejectedError';
  }
}

/**
 * Verifies a token this issuer made: RS256 only, a key from our own key ring only (no `jku`, `x5u`
 * or `jwk` header is ever followed), exact `iss`, the expected `typ`, and `exp` (RFC 8725).
 */
export async function verifyOwnToken(
  keyRing: KeyRing,
  expected: { issuer: string; typ: string; audience?: string },
  token: string,
): Promise<JWTPayload> {
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
    throw new TokenRejectedError('malformed token');
  }
  try {
    const { payload } = await jwtVerify(token, keyRing.verificationKeys(), {
      algorithms: [SIGNING_ALGORITHM],
      issuer: expected.issuer,
      typ: expected.typ,
      audience: expected.audience,
      requiredClaims: ['exp', 'iat', 'sub'],
      clockTolerance: 5,
    });
    return payload;
  } catch (error) {
    if (error instanceof errors.JOSEError) throw new TokenRejectedError(error.code);
    throw error;
  }
}
