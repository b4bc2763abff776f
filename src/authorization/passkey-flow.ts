// Passkeys at the sign-in pages (factors/passkeys.ts for the ceremony): the options a login or
// second-factor page hands the browser, and the form the page's script posts the answer in.
import { recordAuditEvent } from '../audit/audit-log.js';
import type { AuthorizationRequestRow } from '../db/schema.js';
import { invalidPasskey } from '../errors.js';
import { combinedMethods } from '../factors/authentication-methods.js';
import { passkeySignInOptions, verifyPasskeySignIn } from '../factors/passkeys.js';
import type { RequestContext } from '../sessions/refresh-sessions.js';
import { findUserById } from '../users/user-store.js';
import { clientOf, refuse, type AuthorizationFlowDependencies, type Browser } from './flow-steps.js';
import { checkFormToken, formToken } from './form-tokens.js';
import { findPendingAuthorization } from './pending-authorization-store.js';
import { registrationRefusal } from './registration-check.js';
import { completeSignIn, pendingSecondFactor, type SignInOutcome } from './second-factor-flow.js';

/** What a page needs to offer a passkey (pages/passkey-offer.ts), or undefined when it has none to offer. */
export async function passkeyOfferFor(
  deps: AuthorizationFlowDependencies,
  pending: Pick<AuthorizationRequestRow, 'id' | 'expiresAt'>,
  browser: Browser,
  secondFactorOf?: string,
) {
  const options = await passkeySignInOptions(deps.factors, pending, secondFactorOf);
  if (!options) return undefined;
  return {
    requestId: pending.id,
    csrf: formToken(browser.binding, `passkey:${pending.id}`),
    options: JSON.stringify(options),
    autofill: !secondFactorOf,
  };
}

/**
 * POST of the passkey form: at the login page, a sign-in with the passkey alone (user verification
 * makes it multi-factor by itself); at the second-factor page, the second factor of the user who
 * gave the first. Either way the same ending as the other forms: a browser session, then consent
 * or back to the client with a code.
 */
export async function submitPasskey(
  deps: AuthorizationFlowDependencies,
  form: { requestId: string | undefined; csrf: string | undefined; credential: string },
  browser: Browser,
  context: RequestContext,
): Promise<SignInOutcome> {
  const pending = await findPendingAuthorization(deps.db, form.requestId, browser.binding, deps.now());
  checkFormToken(browser.binding, `passkey:${pending.id}`, form.csrf);
  const client = await clientOf(deps, pending);
  const refused = registrationRefusal(client, pending);
  if (refused) return { next: await refuse(deps, pending, refused) };
  const response = parseCredential(form.credential);
  const audit = { clientId: client.id, ipAddress: context.ipAddress };

  if (pending.firstFactorUserId) {
    const { user } = await pendingSecondFactor(deps, pending.id, browser);
    const { amr } = await verifyPasskeySignIn(deps.factors, { response, requestId: pending.id, secondFactorOf: user.id }, audit);
    const signedIn = { userId: user.id, amr: combinedMethods(pending.firstFactorAmr ?? [], amr) };
    return completeSignIn(deps, pending, client, signedIn, browser, context);
  }
  const { userId, amr } = await verifyPasskeySignIn(deps.factors, { response, requestId: pending.id }, audit);
  const user = await findUserById(deps.db, userId);
  if (!user?.isActive) {
    await recordAuditEvent(deps.db, deps, {
      type: 'sign_in_failed',
      userId,
      ...audit,
      details: { reason: 'account_disabled', method: 'passkey' },
    });
    throw invalidPasskey('the passkey could not be verified');
  }
  await recordAuditEvent(deps.db, deps, { type: 'sign_in_succeeded', userId, ...audit, details: { method: 'passkey' } });
  return completeSignIn(deps, pending, client, { userId, amr }, browser, context);
}

function parseCredential(credential: string): unknown {
  try {
    return JSON.parse(credential);
  } catch {
    throw invalidPasskey('the answer is not a WebAuthn assertion');
  }
}
