import type { AuditEvent } from '../audit/audit-log.js';
import { invalidRequest } from '../errors.js';
import { cutoffAt } from './cutoffs.js';
import { revokeSessions, type RevocationDependencies } from './ending-sessions.js';

/** Whose tokens: every token, a user's, or a client's (its own and those it obtained for users). */
export type IncidentScope = { all: true } | { userId: string } | { clientId: string };

export interface IncidentRevocation {
  kind: 'all' | 'sub' | 'client_id';
  value: string;
  /** Tokens issued at or before this moment (to the second) are refused. */
  before: Date;
  sessionsEnded: number;
}

/**
 * Incident response (`token-issuer revoke`, `POST /admin/revocations`): every access token of the
 * scope issued at or before `before` (default now) is refused by every verifier, and the sessions
 * signed in by then end, so their refresh tokens cannot mint new ones. Tokens issued after it, and
 * sessions signed in after it, go on. A moment in the future is refused: the issuer would give
 * the next tokens a later `iat` (see TokenSigner.issuedAt) and the cut-off would catch nothing new.
 */
export async function revokeIssuedBefore(
  deps: RevocationDependencies,
  scope: IncidentScope,
  options: { before?: Date; audit: Pick<AuditEvent, 'actor' | 'ipAddress'>; deferPush?: boolean },
): Promise<IncidentRevocation> {
  const now = new Date();
  const before = options.before ?? now;
  if (before.getTime() > now.getTime()) throw invalidRequest('before may not be in the future');
  const target =
    'all' in scope
      ? ({ kind: 'all', value: '*' } as const)
      : 'userId' in scope
        ? ({ kind: 'sub', value: scope.userId } as const)
        : ({ kind: 'client_id', value: scope.clientId } as const);
  const sessions = await revokeSessions(
    deps,
    { ...scope, signedInBefore: before },
    {
      ...options.audit,
      type: 'tokens_revoked',
      userId: 'userId' in scope ? scope.userId : undefined,
      clientId: 'clientId' in scope ? scope.clientId : undefined,
      reason: 'incident',
      details: { cutoff: target.kind, before: before.toISOString() },
    },
    { alwaysAudit: true, now, deferPush: options.deferPush },
  );
  const { before: second } = cutoffAt(target, before, deps.accessTokenTtlSeconds);
  return { ...target, before: new Date(second * 1000), sessionsEnded: sessions.length };
}
