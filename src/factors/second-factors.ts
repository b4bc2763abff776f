// A user's second factors: authenticator apps (TOTP, RFC 6238) and recovery codes. The account API,
// the pages, the admin API and the CLI all go through these functions, which hold the rules and
// record the audit events (NIST SP 800-63B-4 §3.1.4, OWASP Multifactor Authentication Cheat Sheet).
import { randomUUID } from 'node:crypto';
import { recordAuditEvent, type AuditActor } from '../audit/audit-log.js';
import type { Database } from '../db/database.js';
import { invalidCode, notFound } from '../errors.js';
import { open, seal } from '../keys/sealed-box.js';
import type { Mailer } from '../mail/mailer.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';
import type { LoginThrottle } from '../throttle/login-throttle.js';
import type { AuthenticationMethod } from './authentication-methods.js';
import {
  countUnusedRecoveryCodes,
  deleteTotpFactor,
  findTotpFactor,
  hasConfirmedFactor,
  insertTotpFactor,
  listConfirmedTotpFactors,
  replaceRecoveryCodes,
  spendRecoveryCode,
  spendTotpStep,
} from './factor-store.js';
import { deletePasskey, listPasskeys } from './passkey-store.js';
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from './recovery-codes.js';
import { newTotpSecret, otpauthUri, stepOfCode } from './totp.js';

export interface FactorDependencies extends RevocationDependencies {
  /** Seals TOTP secrets at rest, as it seals signing keys (keys/sealed-box.ts). */
  keyEncryptionKey: Buffer;
  /** Wrong codes are throttled like wrong passwords, per account and per address. */
  loginThrottle: LoginThrottle;
  /** Tells the user when a recovery code was used or a factor removed. */
  mailer: Mailer;
  /** The name authenticator apps show for the account (ISSUER_DISPLAY_NAME). */
  issuerName: string;
  now: () => Date;
}

export interface FactorOwner {
  id: string;
  username: string;
  email: string;
}

/** An authenticator app (TOTP) or a passkey (WebAuthn). */
export type FactorKind = 'totp' | 'passkey';

export interface FactorSummary {
  id: string;
  kind: FactorKind;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

const sealingContext = (factorId: string) => `totp:${factorId}`;

/** A user's confirmed factors (passkeys first, newest first) and how many recovery codes are left. */
export async function describeFactors(db: Database, userId: string): Promise<{ factors: FactorSummary[]; recoveryCodesLeft: number }> {
  const [keys, totp, recoveryCodesLeft] = await Promise.all([
    listPasskeys(db, userId),
    listConfirmedTotpFactors(db, userId),
    countUnusedRecoveryCodes(db, userId),
  ]);
  const summary = (kind: FactorKind) => (factor: Omit<FactorSummary, 'kind'>) => ({
    id: factor.id,
    kind,
    name: factor.name,
    createdAt: factor.createdAt,
    lastUsedAt: factor.lastUsedAt,
  });
  return { factors: [...keys.map(summary('passkey')), ...totp.map(summary('totp'))], recoveryCodesLeft };
}

/** Whether the user has a second factor: a confirmed authenticator app or a passkey. */
export const hasSecondFactor = hasConfirmedFactor;

/**
 * Starts adding an authenticator app: a new secret, for the QR code and to type in. It works only
 * once confirmed with a first code (`confirmTotp`); an unconfirmed one is replaced by the next.
 */
export async function enrolTotp(
  deps: FactorDependencies,
  user: FactorOwner,
  name: string,
): Promise<{ id: string; secret: string; otpauthUri: string }> {
  const id = randomUUID();
  const secret = newTotpSecret();
  await insertTotpFactor(deps.db, { id, userId: user.id, name, secretSealed: seal(secret, deps.keyEncryptionKey, sealingContext(id)) });
  return { id, secret, otpauthUri: otpauthUri(secret, { issuer: deps.issuerName, account: user.username }) };
}

/**
 * The unconfirmed app `factorId` again (after a wrong first code, so that the user keeps the QR
 * code they scanned), or a new one when there is no such enrolment.
 */
export async function resumeTotpEnrolment(
  deps: FactorDependencies,
  user: FactorOwner,
  factorId: string,
  name: string,
): Promise<{ id: string; secret: string; otpauthUri: string }> {
  const factor = await findTotpFactor(deps.db, user.id, factorId);
  if (!factor || factor.confirmedAt) return enrolTotp(deps, user, name);
  const secret = open(factor.secretSealed, deps.keyEncryptionKey, sealingContext(factor.id));
  return { id: factor.id, secret, otpauthUri: otpauthUri(secret, { issuer: deps.issuerName, account: user.username }) };
}

/**
 * Confirms an enrolment with the app's current code (throttled like a password); a first factor
 * comes with recovery codes and ends the user's other sessions (`addFactor`).
 */
export async function confirmTotp(
  deps: FactorDependencies,
  user: FactorOwner,
  confirmation: FactorAddedFrom & { factorId: string; code: string },
): Promise<{ recoveryCodes?: string[] }> {
  const { ipAddress } = confirmation;
  const factor = await findTotpFactor(deps.db, user.id, confirmation.factorId);
  if (!factor || factor.confirmedAt) throw notFound('unconfirmed authenticator app');
  const attempt = await deps.loginThrottle.begin(throttleKey(user.id), ipAddress);
  const now = deps.now();
  const step = stepOfCode(open(factor.secretSealed, deps.keyEncryptionKey, sealingContext(factor.id)), confirmation.code.trim(), now);
  if (step === undefined) throw invalidCode();
  const added = { kind: 'totp' as const, name: factor.name };
  const recoveryCodes = await addFactor(deps, user, added, confirmation, async (tx) => {
    if (!(await spendTotpStep(tx, factor.id, step, now, { confirming: true }))) throw invalidCode();
  });
  await attempt.succeeded();
  return recoveryCodes ? { recoveryCodes } : {};
}

/** Where a new factor was added from: the session that goes on, when the user's first factor ends the others. */
export interface FactorAddedFrom {
  ipAddress: string | undefined;
  keepFamilyId?: string | undefined;
  keepBrowserSessionId?: string | undefined;
}

/**
 * Stores a new factor (`write`, in the transaction) with its audit event. The user's first factor
 * comes with ten recovery codes, returned to be shown once, and ends every other session of the
 * user but the caller's: a session signed in with the password alone must not go on as if it had
 * passed the factor that now guards the account.
 */
export async function addFactor(
  deps: FactorDependencies,
  user: FactorOwner,
  added: { kind: FactorKind; name: string },
  from: FactorAddedFrom,
  write: (tx: Database) => Promise<void>,
): Promise<string[] | undefined> {
  let recoveryCodes: string[] | undefined;
  const first = !(await hasSecondFactor(deps.db, user.id));
  await revokeSessions(
    deps,
    first ? { userId: user.id, exceptFamilyId: from.keepFamilyId, exceptBrowserSessionId: from.keepBrowserSessionId } : undefined,
    { type: 'second_factor_added', userId: user.id, ipAddress: from.ipAddress, details: added, reason: 'second_factor_added' },
    {
      alwaysAudit: true,
      now: deps.now(),
      alongside: async (tx) => {
        await write(tx);
        if (first) recoveryCodes = await issueRecoveryCodes(tx, user.id);
      },
    },
  );
  return recoveryCodes;
}

/**
 * The second step of a sign-in: a code from one of the user's apps, accepted once, or one of their
 * recovery codes, spent. Throttled like passwords; every outcome is audited; a recovery code used
 * is mailed to the user. Throws `invalid_code` (or 429).
 */
export async function verifySecondFactor(
  deps: FactorDependencies,
  user: FactorOwner,
  code: string,
  context: { clientId?: string | undefined; ipAddress: string | undefined },
): Promise<{ amr: AuthenticationMethod[] }> {
  const attempt = await deps.loginThrottle.begin(throttleKey(user.id), context.ipAddress);
  const now = deps.now();
  const typed = code.replace(/\s/g, '');
  const audit = { userId: user.id, clientId: context.clientId, ipAddress: context.ipAddress };
  if (/^\d{6}$/.test(typed)) {
    for (const factor of await listConfirmedTotpFactors(deps.db, user.id)) {
      const step = stepOfCode(open(factor.secretSealed, deps.keyEncryptionKey, sealingContext(factor.id)), typed, now);
      if (step !== undefined && (await spendTotpStep(deps.db, factor.id, step, now, { confirming: false }))) {
        await attempt.succeeded();
        return { amr: ['otp'] };
      }
    }
  } else {
    const normalized = normalizeRecoveryCode(typed);
    if (normalized && (await spendRecoveryCode(deps.db, user.id, hashRecoveryCode(normalized), now))) {
      await attempt.succeeded();
      const left = await countUnusedRecoveryCodes(deps.db, user.id);
      await recordAuditEvent(deps.db, deps, { ...audit, type: 'recovery_code_used', details: { left } });
      await notify(deps, user, 'A recovery code was used', [
        'A recovery code of your account was used to sign in just now.',
        `${left} of your recovery codes are left. If this was not you, change your password and create new codes.`,
      ]);
      return { amr: ['otp'] };
    }
  }
  await recordAuditEvent(deps.db, deps, { ...audit, type: 'second_factor_failed' });
  throw invalidCode();
}

/** What removing a factor needs: the store, the audit, and the mail that tells the user. */
export type FactorRemovalDependencies = Pick<FactorDependencies, 'db' | 'logger' | 'onAuditEvent' | 'mailer'>;

/**
 * Removes one of the user's factors; with the last one go the recovery codes. The user is told by
 * mail. The account API (the user), the admin API and the CLI (an operator) all come here.
 */
export async function removeFactor(deps: FactorRemovalDependencies, user: FactorOwner, factorId: string, by: AuditActor): Promise<void> {
  const removed = await deps.db.transaction(async (tx) => {
    const factor = await deleteEitherFactor(tx, user.id, factorId);
    if (!factor) throw notFound('second factor');
    if (!(await hasSecondFactor(tx, user.id))) await replaceRecoveryCodes(tx, user.id, []);
    if (factor.confirmed) {
      const details = { kind: factor.kind, name: factor.name };
      await recordAuditEvent(tx, deps, { ...by, type: 'second_factor_removed', userId: user.id, details });
    }
    return factor;
  });
  if (removed.confirmed) {
    const what = removed.kind === 'totp' ? 'authenticator app' : 'passkey';
    await notify(deps, user, 'A sign-in method was removed', [
      `The ${what} "${removed.name}" was removed from your account and no longer signs you in.`,
      'If this was not you, change your password and review your sign-in methods.',
    ]);
  }
}

/** The factor `id` of the user, an app (even unconfirmed) or a passkey, deleted: what it was, or undefined. */
async function deleteEitherFactor(db: Database, userId: string, id: string) {
  const app = await deleteTotpFactor(db, userId, id);
  if (app) return { kind: 'totp' as const, name: app.name, confirmed: app.confirmedAt !== null };
  const passkey = await deletePasskey(db, userId, id);
  return passkey && { kind: 'passkey' as const, name: passkey.name, confirmed: true };
}

/** Ten new recovery codes in place of the old ones, for a user who has a factor; shown once. */
export async function regenerateRecoveryCodes(deps: FactorDependencies, user: FactorOwner, by: AuditActor): Promise<string[]> {
  return deps.db.transaction(async (tx) => {
    if (!(await hasSecondFactor(tx, user.id))) throw notFound('second factor');
    const codes = await issueRecoveryCodes(tx, user.id);
    await recordAuditEvent(tx, deps, { ...by, type: 'recovery_codes_regenerated', userId: user.id });
    return codes;
  });
}

async function issueRecoveryCodes(db: Database, userId: string): Promise<string[]> {
  const codes = newRecoveryCodes();
  await replaceRecoveryCodes(
    db,
    userId,
    codes.map((code) => hashRecoveryCode(normalizeRecoveryCode(code)!)),
  );
  return codes;
}

/** Wrong codes share the sign-in throttle's budget per address, and have their own per account. */
const throttleKey = (userId: string) => `second-factor:${userId}`;

async function notify(deps: FactorRemovalDependencies, user: FactorOwner, subject: string, lines: string[]): Promise<void> {
  await deps.mailer
    .send({ to: user.email, subject, text: [`Hello ${user.username},`, '', ...lines].join('\n') })
    .catch((error: unknown) => deps.logger.error({ err: error, userId: user.id }, 'could not send a security notice'));
}
