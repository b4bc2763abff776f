// Whose account an upstream sign-in is (OWASP Authentication Cheat Sheet, "account linking"):
// found only by the provider's `sub`; a first sign-in makes an account only where the provider may
// (and with an email the provider verified, in an allowed domain); an email that belongs to an
// existing account never signs in to it: that would let whoever controls the upstream account,
// or registered the address there first, take over the account here.
import { randomBytes } from 'node:crypto';
import { recordAuditEvent, type AuditSink } from '../audit/audit-log.js';
import type { IdentityProviderRow, UserRow } from '../db/schema.js';
import { accessDenied, lastSignInMethod, notFound } from '../errors.js';
import { hasPasskey } from '../factors/passkey-store.js';
import { registerUser, type AccountDependencies } from '../users/accounts.js';
import { findUserById, findUserByLogin } from '../users/user-store.js';
import {
  deleteLinkedIdentity,
  exclusiveProviderOf,
  findLinkedIdentity,
  insertLinkedIdentity,
  listLinkedIdentities,
  touchLinkedIdentity,
} from './provider-store.js';

/** The claims of the upstream id token this issuer reads. */
export interface UpstreamClaims {
  sub: string;
  email?: unknown;
  email_verified?: unknown;
  preferred_username?: unknown;
  name?: unknown;
}

export interface UpstreamAccountDependencies extends AuditSink {
  accounts: AccountDependencies;
  now: () => Date;
}

/** The active user this upstream account signs in, created now when the provider allows it. Throws `access_denied`. */
export async function accountForUpstream(
  deps: UpstreamAccountDependencies,
  provider: IdentityProviderRow,
  claims: UpstreamClaims,
  context: { clientId: string; ipAddress: string | undefined },
): Promise<UserRow> {
  const { db } = deps.accounts;
  const refuse = async (reason: string, description: string, userId?: string) => {
    await recordAuditEvent(db, deps, { type: 'upstream_sign_in_refused', userId, ...context, details: { idp: provider.name, reason } });
    return accessDenied(description);
  };
  const linked = await findLinkedIdentity(db, provider.id, claims.sub);
  if (linked) {
    const user = await findUserById(db, linked.userId);
    if (!user?.isActive) throw await refuse('account_disabled', 'this account is disabled', linked.userId);
    await touchLinkedIdentity(db, provider.id, claims.sub, deps.now());
    return user;
  }
  const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined;
  if (!provider.allowSignup) throw await refuse('not_linked', `no account here is linked to this ${provider.displayName} account`);
  if (!email || claims.email_verified !== true) {
    throw await refuse('email_not_verified', `${provider.displayName} did not vouch for an email address of this account`);
  }
  const domain = email.split('@')[1] ?? '';
  if (provider.allowedDomains.length > 0 && !provider.allowedDomains.includes(domain)) {
    throw await refuse('domain_not_allowed', `accounts of ${domain} cannot sign up here`);
  }
  const existing = await findUserByLogin(db, email);
  if (existing) {
    throw await refuse(
      'email_in_use',
      'an account with this email address exists here: sign in to it with its own password or passkey',
      existing.id,
    );
  }
  const user = await registerUser(
    deps.accounts,
    {
      username: await freeUsername(deps, claims, email),
      email,
      fullName: typeof claims.name === 'string' ? claims.name.slice(0, 200) : undefined,
    },
    // No password: the account signs in upstream, or sets one through "Forgot your password?".
    randomBytes(32).toString('base64url'),
  );
  await insertLinkedIdentity(db, {
    providerId: provider.id,
    subject: claims.sub,
    userId: user.id,
    email,
    createdAccount: true,
    lastUsedAt: deps.now(),
  });
  await recordAuditEvent(db, deps, { type: 'user_signed_up', userId: user.id, ...context, details: { idp: provider.name } });
  return (await findUserById(db, user.id))!;
}

/**
 * Links the upstream account to `userId`, who proved being that user by signing in to the account
 * page (recently, with a second factor if they have one): only with an email the provider
 * verified, and never an upstream account already linked to someone else. Audited.
 */
export async function linkUpstreamAccount(
  deps: UpstreamAccountDependencies,
  provider: IdentityProviderRow,
  claims: UpstreamClaims,
  userId: string,
  context: { clientId: string; ipAddress: string | undefined },
): Promise<void> {
  const { db } = deps.accounts;
  const refuse = async (reason: string, description: string) => {
    await recordAuditEvent(db, deps, { type: 'upstream_sign_in_refused', userId, ...context, details: { idp: provider.name, reason } });
    return accessDenied(description);
  };
  if (claims.email_verified !== true || typeof claims.email !== 'string') {
    throw await refuse('email_not_verified', `${provider.displayName} did not vouch for an email address of that account`);
  }
  const linked = await findLinkedIdentity(db, provider.id, claims.sub);
  if (linked && linked.userId !== userId)
    throw await refuse('linked_to_another_account', `that ${provider.displayName} account signs in to another account here`);
  if (!linked) {
    await insertLinkedIdentity(db, {
      providerId: provider.id,
      subject: claims.sub,
      userId,
      email: claims.email.toLowerCase(),
      lastUsedAt: deps.now(),
    });
  }
  await recordAuditEvent(db, deps, { type: 'identity_linked', userId, ...context, details: { idp: provider.name } });
}

/**
 * Unlinks a provider from the user, unless it is their only way to sign in: an account made by a
 * provider has no password until its owner sets one; a passkey or another provider also counts.
 */
export async function unlinkUpstreamAccount(
  deps: UpstreamAccountDependencies,
  user: Pick<UserRow, 'id' | 'passwordChangedAt'>,
  providerName: string,
  by: { ipAddress: string | undefined },
): Promise<void> {
  const { db } = deps.accounts;
  const links = await listLinkedIdentities(db, user.id);
  const link = links.find((found) => found.provider === providerName);
  if (!link) throw notFound('linked provider');
  const madeBy = links.find((found) => found.createdAccount);
  const exclusive = await exclusiveProviderOf(db, user.id);
  const hasPassword = !exclusive && (!madeBy || user.passwordChangedAt > madeBy.createdAt);
  if (!hasPassword && links.length === 1 && !(await hasPasskey(db, user.id))) throw lastSignInMethod();
  await deleteLinkedIdentity(db, link.providerId, user.id);
  await recordAuditEvent(db, deps, { type: 'identity_unlinked', userId: user.id, ...by, details: { idp: providerName } });
}

/** The providers the user linked, for the account page. */
export { listLinkedIdentities as linkedProvidersOf };

/** A username from the upstream's, or the email's local part, made valid and not yet taken. */
async function freeUsername(deps: UpstreamAccountDependencies, claims: UpstreamClaims, email: string): Promise<string> {
  const wanted = typeof claims.preferred_username === 'string' ? claims.preferred_username : email.split('@')[0]!;
  const base = (wanted.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 56) || 'user').padEnd(3, '0');
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const candidate = attempt === 0 ? base : `${base}-${randomBytes(3).toString('hex')}`;
    if (!(await findUserByLogin(deps.accounts.db, candidate))) return candidate;
  }
  return `${base}-${randomBytes(6).toString('hex')}`;
}
