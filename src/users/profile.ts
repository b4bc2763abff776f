import { recordAuditEvent, type AuditSink } from '../audit/audit-log.js';
import { incorrectPassword, invalidRequest } from '../errors.js';
import type { UserRow } from '../db/schema.js';
import type { Database } from '../db/database.js';
import type { RevocationDependencies } from '../revocation/ending-sessions.js';
import { replacePassword, type AccountDependencies } from './accounts.js';
import type { LoginThrottle } from '../throttle/login-throttle.js';
import type { PasswordHasher } from './password-hasher.js';
import { endPasswordResets } from './reset-token-store.js';
import { throttleKeyOf } from './sign-in.js';
import { updateUser, type User } from './user-store.js';

export interface ProfileDependencies extends AuditSink {
  db: Database;
  hasher: PasswordHasher;
  /** A current-password check is a sign-in attempt: counted and throttled like one. */
  loginThrottle: LoginThrottle;
}

/** Proves the caller knows the password before a sensitive change (OWASP ASVS 5 §6.2.2). */
export async function verifyCurrentPassword(
  deps: ProfileDependencies,
  user: UserRow,
  password: string | undefined,
  ipAddress: string | undefined,
): Promise<void> {
  if (!password) throw invalidRequest('current_password: required for this change');
  const attempt = await deps.loginThrottle.begin(throttleKeyOf(user, user.username), ipAddress);
  if (!(await deps.hasher.verify(user.passwordHash, password))) throw incorrectPassword();
  await attempt.succeeded();
}

export interface ProfileChange {
  fullName?: string | null;
  email?: string;
  currentPassword?: string;
}

/**
 * The user's own name and email; a new email (where reset links go) needs the current password and
 * ends reset links. A change that changes something is audited (`profile_updated`, naming the fields).
 */
export async function updateProfile(
  deps: ProfileDependencies,
  user: UserRow,
  change: ProfileChange,
  ipAddress: string | undefined,
): Promise<User> {
  const email = change.email?.toLowerCase();
  const emailChanges = email !== undefined && email !== user.email;
  const nameChanges = change.fullName !== undefined && change.fullName !== user.fullName;
  if (emailChanges) await verifyCurrentPassword(deps, user, change.currentPassword, ipAddress);
  // Reset links went to the old address: they end with it, in the same transaction.
  return deps.db.transaction(async (tx) => {
    const updated = await updateUser(tx, user.id, {
      ...(change.fullName === undefined ? {} : { fullName: change.fullName }),
      ...(emailChanges ? { email } : {}),
    });
    if (emailChanges) await endPasswordResets(tx, user.id);
    const changed = [...(emailChanges ? ['email'] : []), ...(nameChanges ? ['full_name'] : [])];
    if (changed.length > 0) await recordAuditEvent(tx, deps, { type: 'profile_updated', userId: user.id, ipAddress, details: { changed } });
    return updated!;
  });
}

/**
 * The user's own password change, for the account API and the account page alike: the current
 * password first (throttled like a sign-in), then a new one that ends every other session
 * (OWASP ASVS 5 §6.2.3); the caller's session (`keepSessionId`) goes on.
 */
export async function changeOwnPassword(
  deps: { profile: ProfileDependencies; accounts: AccountDependencies; revocation: RevocationDependencies },
  user: UserRow,
  change: { currentPassword: string; newPassword: string; ipAddress: string | undefined; keepSessionId: string | undefined },
): Promise<User> {
  await verifyCurrentPassword(deps.profile, user, change.currentPassword, change.ipAddress);
  return replacePassword(deps.accounts, deps.revocation, user, change.newPassword, {
    audit: { type: 'password_changed', ipAddress: change.ipAddress, reason: 'password_changed' },
    keepSessionId: change.keepSessionId,
  });
}
