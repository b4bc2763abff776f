import type { Database } from '../db/database.js';
import { ApiError, describeIssues, invalidRequest, unknownUser } from '../errors.js';
import { createPasswordHasher, type Argon2Parameters, type PasswordHasher } from './password-hasher.js';
import { checkPasswordPolicy, type PasswordPolicy } from './password-policy.js';
import { countUsers, findUserByLogin, insertUser, newUserSchema, setUserPassword, withoutPasswordHash, type User } from './user-store.js';
import { changeUser, type UserChangeResult } from './user-changes.js';
import { recordAuditEvent, type AuditActor, type AuditEvent, type AuditSink } from '../audit/audit-log.js';
import { renewAuthTime } from '../sessions/family-store.js';
import { endPasswordResets } from './reset-token-store.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';

export interface AccountDependencies {
  db: Database;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
}

/**
 * A new account, without an audit event (test data; every admin action goes through createUser).
 * Validates the fields and the password policy before anything is written.
 */
export async function registerUser(deps: AccountDependencies, input: unknown, password: string): Promise<User> {
  const { fields, passwordHash } = await checkedNewUser(deps, input, password);
  return insertUser(deps.db, fields, passwordHash);
}

async function checkedNewUser(deps: AccountDependencies, input: unknown, password: string) {
  const parsed = newUserSchema.safeParse(input);
  if (!parsed.success) {
    throw invalidRequest(describeIssues(parsed.error.issues));
  }
  await checkPasswordPolicy(password, parsed.data, deps.policy);
  return { fields: parsed.data, passwordHash: await deps.hasher.hash(password) };
}

/**
 * A new account and its audit event, committed together: `user_created` by an operator (the admin
 * API, `users create`, the bootstrap admin), naming who; `user_signed_up` for self-service signup.
 */
export async function createUser(
  deps: AccountDependencies,
  audit: AuditSink,
  input: unknown,
  password: string,
  by: AuditActor & { type?: 'user_created' | 'user_signed_up' },
): Promise<User> {
  const { fields, passwordHash } = await checkedNewUser(deps, input, password);
  const { type = 'user_created', ...actor } = by;
  return deps.db.transaction(async (tx) => {
    const user = await insertUser(tx, fields, passwordHash);
    const details = type === 'user_created' ? { roles: user.roles } : undefined;
    await recordAuditEvent(tx, audit, { ...actor, type, userId: user.id, details });
    return user;
  });
}

/** Self-service signup (the API's and the page's): the account, and its audit event. */
export function signUp(
  deps: AccountDependencies,
  audit: AuditSink,
  input: { username: unknown; email: unknown; fullName?: unknown },
  password: string,
  ipAddress: string | undefined,
): Promise<User> {
  return createUser(deps, audit, input, password, { type: 'user_signed_up', ipAddress });
}

/** `users set-password`: a new password set by an operator. */
export async function changePassword(
  deps: AccountDependencies,
  revocation: RevocationDependencies,
  login: string,
  password: string,
  by: AuditActor = {},
): Promise<User> {
  const user = await findUserByLogin(deps.db, login);
  if (!user) throw unknownUser(login);
  return replacePassword(deps, revocation, user, password, {
    audit: { ...by, type: 'password_changed', reason: 'password_set_by_operator' },
  });
}

export interface PasswordReplacement {
  audit: Omit<AuditEvent, 'userId'> & { reason: string };
  /** The session of the caller, which stays: its sign-in counts as fresh, the password just proven. */
  keepSessionId?: string;
  /** Runs in the same transaction; throwing there changes nothing (e.g. a reset token already spent). */
  spend?: (tx: Database) => Promise<void>;
}

/**
 * A new password, in one transaction with the end of every session of the user (but the one kept)
 * and the revocation of their live access tokens (OWASP ASVS 5 §6.2: a changed credential ends
 * the sessions that used the old one), and of every reset link still out. The policy is checked
 * before anything is written.
 */
export async function replacePassword(
  deps: AccountDependencies,
  revocation: RevocationDependencies,
  user: User,
  password: string,
  replacement: PasswordReplacement,
): Promise<User> {
  await checkPasswordPolicy(password, user, deps.policy);
  const passwordHash = await deps.hasher.hash(password);
  let updated: User | undefined;
  const { keepSessionId } = replacement;
  await revokeSessions(
    revocation,
    { userId: user.id, exceptFamilyId: keepSessionId },
    { ...replacement.audit, userId: user.id },
    {
      alwaysAudit: true,
      alongside: async (tx) => {
        await replacement.spend?.(tx);
        updated = await setUserPassword(tx, user.id, passwordHash);
        await endPasswordResets(tx, user.id);
        if (keepSessionId) await renewAuthTime(tx, keepSessionId, user.id);
      },
    },
  );
  return updated!;
}

/**
 * `users disable|enable`: disabling ends every session, revokes their live access tokens and ends
 * reset links; enabling restores sign-in. The CLI may disable the last active admin (the result
 * says so, for a warning); the API may not.
 */
export async function setUserEnabled(
  revocation: RevocationDependencies,
  login: string,
  enabled: boolean,
  by: AuditActor = {},
): Promise<UserChangeResult> {
  const user = await findUserByLogin(revocation.db, login);
  if (!user) throw unknownUser(login);
  return changeUser(revocation, withoutPasswordHash(user), { isActive: enabled }, { by, lastAdmin: 'allow' });
}

/**
 * BOOTSTRAP_ADMIN_*: a first admin for a fresh container, created only while no user exists.
 * Returns the admin when it was created.
 */
export async function bootstrapAdmin(
  deps: AccountDependencies,
  audit: AuditSink,
  admin: { username: string; email: string; password: string },
): Promise<User | undefined> {
  if ((await countUsers(deps.db)) > 0) return undefined;
  try {
    const input = { username: admin.username, email: admin.email, roles: ['admin', 'user'] };
    return await createUser(deps, audit, input, admin.password, { actor: 'bootstrap' });
  } catch (error) {
    // Another instance starting at the same moment created it first.
    if (error instanceof ApiError && error.code === 'account_exists') return undefined;
    throw error;
  }
}

export function accountDependenciesFrom(
  config: { passwords: { argon2: Argon2Parameters; hashConcurrency: number; minLength: number; maxLength: number } },
  db: Database,
): AccountDependencies {
  return {
    db,
    hasher: createPasswordHasher(config.passwords.argon2, config.passwords.hashConcurrency),
    policy: { minLength: config.passwords.minLength, maxLength: config.passwords.maxLength },
  };
}
