import type { AuditActor } from '../audit/audit-log.js';

/** The fields of a change, as the audit event names them (the API's names). */
const CHANGE_NAMES: Readonly<Record<keyof UserChanges, string>> = {
  fullName: 'full_name',
  email: 'email',
  roles: 'roles',
  isActive: 'active',
};
import type { Database } from '../db/database.js';
import { lastAdmin, notFound } from '../errors.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';
import { endPasswordResets } from './reset-token-store.js';
import { deleteUser, otherActiveAdminExists, updateUser, type User, type UserChanges } from './user-store.js';

export interface UserChangeOptions {
  /** Who made the change, for its audit event (`user_updated`, `user_deleted`). */
  by: AuditActor;
  /**
   * `refuse` (the API): a change that leaves no active admin is 409. `allow` (the CLI, run by
   * whoever holds the server): it goes through, and the result says so, for a warning.
   */
  lastAdmin: 'refuse' | 'allow';
}

export interface UserChangeResult {
  user: User;
  /** No active admin is left after this change. */
  leftNoAdmin: boolean;
}

/**
 * Changes a user's fields in one transaction with what the change implies: removing a role or
 * disabling ends every session and revokes their live access tokens (the tokens carry what was
 * lost); a new email or a disable ends every reset link still out; and no change leaves the
 * issuer without an active admin unless `lastAdmin` allows it. The API and the CLI both come here.
 */
export async function changeUser(
  revocation: RevocationDependencies,
  before: User,
  changes: UserChanges,
  options: UserChangeOptions,
): Promise<UserChangeResult> {
  const newRoles = changes.roles;
  const lostRole = newRoles !== undefined && before.roles.some((role) => !newRoles.includes(role));
  const disabled = changes.isActive === false && before.isActive;
  const emailChanged = changes.email !== undefined && changes.email.toLowerCase() !== before.email;
  const losesAdmin =
    before.isActive && before.roles.includes('admin') && (disabled || (newRoles !== undefined && !newRoles.includes('admin')));
  let user: User | undefined;
  let leftNoAdmin = false;
  const changed = Object.entries(CHANGE_NAMES)
    .filter(([field]) => changes[field as keyof UserChanges] !== undefined)
    .map(([, name]) => name);
  await revokeSessions(
    revocation,
    lostRole || disabled ? { userId: before.id } : undefined,
    {
      ...options.by,
      type: 'user_updated',
      userId: before.id,
      details: { changed },
      reason: disabled ? 'user_disabled' : lostRole ? 'roles_changed' : 'user_updated',
    },
    {
      alwaysAudit: true,
      alongside: async (tx) => {
        if (losesAdmin) leftNoAdmin = await noOtherActiveAdmin(tx, before.id, disabled ? 'disable' : 'demote', options.lastAdmin);
        user = await updateUser(tx, before.id, changes);
        if (!user) throw notFound('user');
        if (emailChanged || disabled) await endPasswordResets(tx, before.id);
      },
    },
  );
  return { user: user!, leftNoAdmin };
}

/** Deletes a user: sessions ended and access tokens denylisted with the account, in one transaction. */
export async function removeUser(revocation: RevocationDependencies, user: User, options: UserChangeOptions): Promise<UserChangeResult> {
  let leftNoAdmin = false;
  await revokeSessions(
    revocation,
    { userId: user.id },
    { ...options.by, type: 'user_deleted', userId: user.id, details: { username: user.username }, reason: 'user_deleted' },
    {
      alwaysAudit: true,
      alongside: async (tx) => {
        if (user.isActive && user.roles.includes('admin')) leftNoAdmin = await noOtherActiveAdmin(tx, user.id, 'delete', options.lastAdmin);
        await deleteUser(tx, user.id);
      },
    },
  );
  return { user, leftNoAdmin };
}

/**
 * Whether no active admin but this user exists, read under a lock so that two admins demoting
 * each other at once cannot both pass. Throws 409 when that is so and the caller refuses it.
 */
async function noOtherActiveAdmin(tx: Database, userId: string, change: string, policy: 'refuse' | 'allow'): Promise<boolean> {
  if (await otherActiveAdminExists(tx, userId)) return false;
  if (policy === 'refuse') throw lastAdmin(change);
  return true;
}
