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

/**
 * A sign-in at an upstream provider keeps the provider's name with its methods, as `idp:<name>`,
 * wherever the methods are stored (browser sessions, codes, refresh families), so that every token
 * of the sign-in can say where it happened. Tokens carry it apart, as the `idp` claim.
 */
const IDP_PREFIX = 'idp:';

export const methodsAtProvider = (amr: readonly string[], provider: string) => [...amr, `${IDP_PREFIX}${provider}`];

/** Stored methods as tokens say them: RFC 8176 `amr`, and the upstream provider (`idp`), if any. */
export function tokenAuthentication(stored: readonly string[]): { amr: string[]; idp?: string } {
  const idp = stored.find((method) => method.startsWith(IDP_PREFIX))?.slice(IDP_PREFIX.length);
  const amr = stored.filter((method) => !method.startsWith(IDP_PREFIX));
  return idp ? { amr, idp } : { amr };
}
