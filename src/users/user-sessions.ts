// Ending a user's sessions, by the user (the account API) or by an admin (the admin API).
import type { AuditActor } from '../audit/audit-log.js';
import { notFound } from '../errors.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';

/** The user and the app they acted through, for the audit event. */
export interface SessionOwner extends AuditActor {
  userId: string;
  clientId: string;
}

/** One of the user's own sessions (a client or a browser session, by id); 404 when none of theirs has it. */
export async function endOwnSession(deps: RevocationDependencies, owner: SessionOwner, sessionId: string): Promise<void> {
  const { userId, clientId, ipAddress } = owner;
  const ended = await revokeSessions(
    deps,
    { familyIds: [sessionId], userId },
    { type: 'session_revoked', userId, clientId, ipAddress, reason: 'revoked_by_user' },
  );
  if (ended.length === 0) throw notFound('session');
}

/** Log out everywhere: every session of the user, their access tokens cut off. */
export async function logOutEverywhere(deps: RevocationDependencies, owner: SessionOwner): Promise<void> {
  const { userId, clientId, ipAddress } = owner;
  await revokeSessions(deps, { userId }, { type: 'user_sessions_revoked', userId, clientId, ipAddress, reason: 'logout_everywhere' });
}

/** An admin ends every session of a user (`DELETE /admin/users/{id}/sessions`), audited naming the admin. */
export async function endUserSessions(deps: RevocationDependencies, userId: string, by: AuditActor): Promise<void> {
  await revokeSessions(
    deps,
    { userId },
    { ...by, type: 'user_sessions_revoked', userId, reason: 'revoked_by_admin' },
    { alwaysAudit: true },
  );
}
