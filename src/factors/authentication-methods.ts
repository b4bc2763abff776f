// How a user authenticated, as tokens say it: `amr` values (RFC 8176 §2) and the two assurance
// levels this issuer names in `acr` (OpenID Connect Core §2).
import { ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR } from '@token-issuer/verifier';

/** RFC 8176 §2: password, one-time code, a key in hardware or software, a user test, several factors. */
export type AuthenticationMethod = 'pwd' | 'otp' | 'hwk' | 'swk' | 'user' | 'mfa';

/**
 * One factor (a password alone), or more than one (a password and a code): named by the verifier
 * library, which downstream APIs check them with.
 */
export { ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR };
export const ACR_VALUES_SUPPORTED = [ACR_SINGLE_FACTOR, ACR_MULTI_FACTOR] as const;

/** The methods of a sign-in that added `second` to `first`: `mfa` once both are there (RFC 8176 §2). */
export function combinedMethods(first: readonly string[], second: readonly AuthenticationMethod[]): AuthenticationMethod[] {
  const methods = new Set([...first, ...second].filter((method) => method !== 'mfa') as AuthenticationMethod[]);
  return [...methods, 'mfa'];
}

export const isMultiFactor = (amr: readonly string[]) => amr.includes('mfa');

/** The `acr` of a sign-in with these methods. */
export const acrOf = (amr: readonly string[]) => (isMultiFactor(amr) ? ACR_MULTI_FACTOR : ACR_SINGLE_FACTOR);
