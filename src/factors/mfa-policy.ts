// When a sign-in needs a second factor (NIST SP 800-63B-4 §2.2: AAL2), and whether a sign-in has one.
import { insufficientUserAuthentication } from '../errors.js';
import { ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR, isMultiFactor } from './authentication-methods.js';

export interface MfaDemand {
  /** The user has a second factor: it is never skipped at the login page. */
  userHasFactor: boolean;
  /** MFA_REQUIRED: everyone. */
  issuerRequires: boolean;
  /** The client's require_mfa. */
  client: { requireMfa: boolean };
  /** The authorization request's `acr_values`, when there is one. */
  acrValues?: readonly string[];
}

/** Whether a sign-in for this must include a second factor. */
export function secondFactorNeeded(demand: MfaDemand): boolean {
  return demand.userHasFactor || demand.issuerRequires || demand.client.requireMfa || asksForMfa(demand.acrValues ?? []);
}

/**
 * OpenID Connect Core §3.1.2.1: `acr_values` in order of preference. A request asks for a second
 * factor when the multi-factor level is the only one of ours it names; values we do not know are
 * ignored, as the specification allows.
 */
export function asksForMfa(acrValues: readonly string[]): boolean {
  const ours = acrValues.filter((value) => value === ACR_SINGLE_FACTOR || value === ACR_MULTI_FACTOR);
  return ours.length > 0 && ours.every((value) => value === ACR_MULTI_FACTOR);
}

/** Whether a session signed in with `amr` satisfies the demand (which the user's factors do not change afterwards). */
export function signInSatisfies(amr: readonly string[], demand: MfaDemand): boolean {
  return isMultiFactor(amr) || !secondFactorNeeded(demand);
}

/** The registration fields the policy reads. */
export interface ClientMfaSettings {
  requireMfa: boolean;
  singleFactorPasswordGrant: boolean;
}

/**
 * Whether every session of this client must be multi-factor, whoever the user: its require_mfa, or
 * MFA_REQUIRED unless the client was let sign in with a password alone. A refresh of a
 * single-factor session is then refused too, so changing either setting takes effect at once.
 */
export function clientDemandsMfa(client: ClientMfaSettings, issuerRequires: boolean): boolean {
  return client.requireMfa || (issuerRequires && !client.singleFactorPasswordGrant);
}

/**
 * Whether the password grant, which cannot ask for a second factor, may sign this user in: never
 * for a client that requires MFA; for one registered with single_factor_password_grant, yes;
 * otherwise only where no second factor is called for.
 */
export async function passwordGrantAllowed(
  client: ClientMfaSettings,
  issuerRequires: boolean,
  userHasFactor: () => Promise<boolean>,
): Promise<boolean> {
  if (client.requireMfa) return false;
  if (client.singleFactorPasswordGrant) return true;
  // Asked last: the one question that reads the database.
  return !issuerRequires && !(await userHasFactor());
}

/** How recent a sign-in must be to change how the account signs in (GitHub's sudo mode is 2 hours; ours is stricter). */
export const RECENT_SIGN_IN_SECONDS = 300;

/**
 * Changing a sign-in method needs a sign-in of the last five minutes, with the second factor when
 * the user has one: a stolen token or an unattended browser must not add the attacker's app or
 * remove the user's. Throws RFC 9470's `insufficient_user_authentication`, naming what to ask for.
 */
export function checkRecentSignIn(
  signIn: { authTime: number | undefined; amr: readonly string[] },
  userHasFactor: boolean,
  now: Date,
): void {
  const age = signIn.authTime === undefined ? Infinity : now.getTime() / 1000 - signIn.authTime;
  if (userHasFactor && !isMultiFactor(signIn.amr)) {
    throw insufficientUserAuthentication('sign in with your second factor to change your sign-in methods', {
      acrValues: ACR_MULTI_FACTOR,
      maxAge: RECENT_SIGN_IN_SECONDS,
    });
  }
  if (age > RECENT_SIGN_IN_SECONDS) {
    throw insufficientUserAuthentication('sign in again to change your sign-in methods: the last sign-in is over 5 minutes old', {
      maxAge: RECENT_SIGN_IN_SECONDS,
    });
  }
}
