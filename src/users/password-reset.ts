import { recordAuditEvent } from '../audit/audit-log.js';
import { invalidResetToken } from '../errors.js';
import type { Mailer } from '../mail/mailer.js';
import type { RevocationDependencies } from '../revocation/ending-sessions.js';
import { replacePassword, type AccountDependencies } from './accounts.js';
import { checkPasswordPolicy } from './password-policy.js';
import { findLiveResetToken, saveResetToken, spendResetToken } from './reset-token-store.js';
import { findUserById, findUserByLogin } from './user-store.js';
import { newOpaqueToken } from '../tokens/opaque-token.js';

export interface PasswordResetPolicy {
  /** The app's page the email links to; the token goes in its fragment. */
  url: string;
  /** Whether that is the issuer's own page, which can lead back to the sign-in the reset began at. */
  ownPage?: boolean;
  ttlSeconds: number;
}

export interface PasswordResetDependencies {
  accounts: AccountDependencies;
  revocation: RevocationDependencies;
  mailer: Mailer;
  policy: PasswordResetPolicy;
  /** Clears the failed sign-in count of an account whose password was reset. */
  onPasswordReset?: (userId: string) => Promise<void>;
}

/**
 * Sends a reset link to the address when it belongs to an active account, and does nothing
 * otherwise. The caller answers before this runs, so neither the answer nor its timing says
 * whether the account exists (OWASP Forgot Password Cheat Sheet).
 */
export async function requestPasswordReset(
  deps: PasswordResetDependencies,
  email: string,
  ipAddress: string | undefined,
  /** The pending sign-in the user asked from, for the issuer's own page to lead back to. */
  signInRequest?: string,
): Promise<void> {
  const { db } = deps.accounts;
  const user = await findUserByLogin(db, email);
  if (!user || !user.isActive) return;

  // 256 random bits; the database keeps only the hash, so reading it resets nobody's password.
  const token = newOpaqueToken();
  await saveResetToken(db, token, user.id, new Date(Date.now() + deps.policy.ttlSeconds * 1000));
  await recordAuditEvent(db, deps.revocation, { type: 'password_reset_requested', userId: user.id, ipAddress });

  // In the fragment, never the query: a fragment is not sent to any server nor in a Referer.
  const page = deps.policy.ownPage && signInRequest ? `${deps.policy.url}?request=${encodeURIComponent(signInRequest)}` : deps.policy.url;
  const link = `${page}#token=${token}`;
  const minutes = Math.round(deps.policy.ttlSeconds / 60);
  await deps.mailer.send({
    to: user.email,
    subject: 'Reset your password',
    text: [
      `Hello ${user.fullName ?? user.username},`,
      '',
      'Someone, probably you, asked to reset the password of your account. To choose a new one, open:',
      '',
      link,
      '',
      `The link works once, within ${minutes} minutes. If you did not ask for it, ignore this message; your password stays as it is.`,
    ].join('\n'),
  });
}

/**
 * Spends a reset token and sets the new password: one use only, and every session of the user
 * ends (a reset means the old password may be known to someone else).
 */
export async function completePasswordReset(
  deps: PasswordResetDependencies,
  token: string,
  newPassword: string,
  ipAddress: string | undefined,
): Promise<void> {
  const { db } = deps.accounts;
  const now = new Date();
  const pending = await findLiveResetToken(db, token, now);
  const user = pending && (await findUserById(db, pending.userId));
  if (!pending || !user || !user.isActive) throw invalidResetToken();
  // A password the policy refuses spends nothing: the link still works for a better one.
  await checkPasswordPolicy(newPassword, user, deps.accounts.policy);

  await replacePassword(deps.accounts, deps.revocation, user, newPassword, {
    audit: { type: 'password_reset', ipAddress, reason: 'password_reset' },
    spend: async (tx) => {
      // Single use under concurrency: only one request gets the row back (the rest roll back).
      if (!(await spendResetToken(tx, token, now))) throw invalidResetToken();
      // Any other link sent to the user dies with the password change (see replacePassword).
    },
  });
  await deps.onPasswordReset?.(user.id);
}
