// How the user behind a token signed in, and whether that is enough for a route (RFC 9470): the
// issuer's `acr` levels, `amr` (RFC 8176) and `auth_time` (OpenID Connect Core §2).
import type { Principal } from './verifier.js';

/** The issuer's assurance levels, as `acr` and `acr_values` name them: one factor, or several. */
export const ACR_SINGLE_FACTOR = 'urn:token-issuer:acr:sfa';
export const ACR_MULTI_FACTOR = 'urn:token-issuer:acr:mfa';

export interface UserAuthenticationRequirement {
  /** The user signed in with more than one factor: `amr` has `mfa` (RFC 8176 §2). */
  requireMfa?: boolean;
  /** The token's `acr` is one of these. */
  acr?: string[];
  /** The user signed in at most this many seconds ago (`auth_time`). */
  maxAge?: number;
}

/** What a token lacks for the requirement: RFC 9470 §3's challenge parameters, and a sentence. */
export interface UserAuthenticationShortfall {
  description: string;
  acrValues?: string;
  maxAge?: number;
}

/** Undefined when the sign-in behind the token meets the requirement; otherwise what to ask the user for. */
export function userAuthenticationShortfall(
  principal: Principal,
  requirement: UserAuthenticationRequirement,
  nowSeconds: number = Math.floor(Date.now() / 1000),
): UserAuthenticationShortfall | undefined {
  const { claims } = principal;
  const amr = Array.isArray(claims.amr) ? claims.amr : [];
  if (requirement.requireMfa && !amr.includes('mfa')) {
    return { description: 'the user must sign in with a second factor', acrValues: ACR_MULTI_FACTOR, maxAge: requirement.maxAge };
  }
  if (requirement.acr && requirement.acr.length > 0 && !(typeof claims.acr === 'string' && requirement.acr.includes(claims.acr))) {
    return {
      description: 'the user must sign in at a higher assurance level',
      acrValues: requirement.acr.join(' '),
      maxAge: requirement.maxAge,
    };
  }
  if (requirement.maxAge !== undefined) {
    const authTime = typeof claims.auth_time === 'number' ? claims.auth_time : undefined;
    if (authTime === undefined || nowSeconds - authTime > requirement.maxAge) {
      return { description: 'the user must sign in again: the sign-in is too old', maxAge: requirement.maxAge };
    }
  }
  return undefined;
}
