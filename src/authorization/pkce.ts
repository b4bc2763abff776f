import { createHash, timingSafeEqual } from 'node:crypto';

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** RFC 7636 §4.2: the S256 challenge of a verifier, BASE64URL(SHA256(code_verifier)). */
export const pkceChallengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

/** RFC 7636 §4.6: the verifier's challenge equals the one stored, compared in constant time. */
export function verifierMatches(verifier: string | undefined, challenge: string): boolean {
  if (!verifier || !CODE_VERIFIER.test(verifier)) return false;
  const computed = Buffer.from(pkceChallengeOf(verifier));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
