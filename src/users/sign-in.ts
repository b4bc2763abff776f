import type { Logger } from 'pino';
import { recordAuditEvent, type AuditSink } from '../audit/audit-log.js';
import type { Database } from '../db/database.js';
import type { UserRow } from '../db/schema.js';
import { ApiError, invalidGrant } from '../errors.js';
import type { LoginThrottle } from '../throttle/login-throttle.js';
import type { PasswordHasher } from './password-hasher.js';
import { findUserByLogin, normalizeLogin, upgradePasswordHash } from './user-store.js';
import { exclusiveProviderOf } from '../upstream/provider-store.js';

export interface SignInDependencies extends AuditSink {
  db: Database;
  hasher: PasswordHasher;
  loginThrottle: LoginThrottle;
  logger: Logger;
}

/** One answer for an unknown user, a wrong password and a disabled account: no enumeration. */
export const INVALID_CREDENTIALS = 'the username or password is incorrect';

/** Longer than any username or email we store; longer input is not looked up. */
const MAX_LOGIN_LENGTH = 254;

/**
 * The throttle's name for an account: its id when it exists, so `bob`, `BOB` and `bob@example.com`
 * share one budget; otherwise the login as normalized, so an unknown login is counted like a real one.
 */
export function throttleKeyOf(user: { id: string } | undefined, login: string): string {
  return user ? `user:${user.id}` : `login:${normalizeLogin(login).slice(0, MAX_LOGIN_LENGTH)}`;
}

/**
 * Checks a login and password: throttled per account and address before any hashing, one verify
 * (against a dummy hash for an unknown user, so timing tells nothing), and an audit event for
 * every outcome. The event never holds the password, nor the typed login of an unknown account
 * (people type passwords into the username field). Returns the active user, or throws
 * `invalid_grant` (or 429 when throttled).
 */
export async function signInWithPassword(
  deps: SignInDependencies,
  attempt: {
    login: string;
    password: string;
    clientId: string;
    ipAddress: string | undefined;
    /** Asked once the password is right: a reason this sign-in may still not go ahead (audited as a failure). */
    refusal?: (user: UserRow) => Promise<ApiError | undefined>;
  },
): Promise<UserRow> {
  const { login, password, clientId, ipAddress } = attempt;
  const user = login.length <= MAX_LOGIN_LENGTH ? await findUserByLogin(deps.db, login) : undefined;
  const audit = (type: 'sign_in_succeeded' | 'sign_in_failed' | 'sign_in_throttled', reason?: string) =>
    recordAuditEvent(deps.db, deps, { type, userId: user?.id, clientId, ipAddress, ...(reason ? { details: { reason } } : {}) });

  let throttled;
  try {
    throttled = await deps.loginThrottle.begin(throttleKeyOf(user, login), ipAddress);
  } catch (error) {
    if (error instanceof ApiError && error.status === 429) await audit('sign_in_throttled');
    throw error;
  }
  const matches = await deps.hasher.verify(user?.passwordHash, password);
  if (!user || !matches || !user.isActive) {
    await audit('sign_in_failed', !user ? 'unknown_account' : !matches ? 'wrong_password' : 'account_disabled');
    throw invalidGrant(INVALID_CREDENTIALS);
  }
  await throttled.succeeded();
  // An account whose organisation signs it in elsewhere (a provider marked --exclusive): its
  // password, whatever it is, is not a way in.
  const only = await exclusiveProviderOf(deps.db, user.id);
  if (only) {
    await audit('sign_in_failed', 'exclusive_provider');
    throw invalidGrant(`this account signs in with ${only}`);
  }
  const refused = await attempt.refusal?.(user);
  if (refused) {
    await audit('sign_in_failed', 'second_factor_required');
    throw refused;
  }
  await audit('sign_in_succeeded');

  if (deps.hasher.needsRehash(user.passwordHash)) {
    await upgradePasswordHash(deps.db, user.id, await deps.hasher.hash(password)).catch((error: unknown) => {
      deps.logger.warn({ err: error, userId: user.id }, 'could not upgrade a password hash; will retry at next login');
    });
  }
  return user;
}
