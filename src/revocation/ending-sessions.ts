import type { Logger } from 'pino';
import { recordAuditEvent, type AuditEvent, type AuditSink } from '../audit/audit-log.js';
import type { Database } from '../db/database.js';
import { isCutoff, type Denylist, type DenylistEntry, type RevocationEntry } from '../denylist/denylist.js';
import { cutoffAt, cutoffsFor } from './cutoffs.js';
import { pushToDenylist } from './denylist-sync.js';
import { endSessionsIn, recordRevokedTokens } from './revocation-store.js';
import type { SessionChoice, SessionSelector } from './session-selector.js';

export interface RevocationDependencies extends AuditSink {
  db: Database;
  denylist: Denylist;
  logger: Logger;
  /** The longest an access token lives: a cut-off is kept that long after its moment. */
  accessTokenTtlSeconds: number;
}

/** Beyond this many, an audit event records how many sessions ended rather than which. */
const AUDITED_SESSION_IDS = 100;

/**
 * Ends sessions inside the caller's transaction: the families are revoked (so their refresh tokens
 * die), and the access tokens they issued that are still live, and the selector's cut-offs, are
 * recorded as revoked; browser sessions the selector covers end too. Returns those entries, for the
 * denylist, and the ids of the sessions ended, browser ones included.
 */
export async function revokeSessionsIn(
  db: Database,
  selector: SessionSelector,
  reason: string,
  now: Date,
  accessTokenTtlSeconds: number,
): Promise<{ familyIds: string[]; revoked: RevocationEntry[] }> {
  const signedInBefore = 'signedInBefore' in selector ? selector.signedInBefore : undefined;
  const at = signedInBefore ?? now;
  // Every session ended: the `all` cut-off covers their tokens issued up to it, so only those
  // issued after it are listed, rather than every live token of the issuer.
  const issuedAfter = 'all' in selector ? new Date((Math.floor(at.getTime() / 1000) + 1) * 1000) : undefined;
  const ended = await endSessionsIn(db, selector, reason, now, { issuedAfter });
  const cutoffs = cutoffsFor(selector, ended.familyIds).map((target) => cutoffAt(target, at, accessTokenTtlSeconds));
  const revoked = [...ended.liveAccessTokens, ...cutoffs];
  await recordRevokedTokens(db, revoked, reason);
  return { familyIds: [...ended.familyIds, ...ended.browserIds], revoked };
}

export interface RevokeOptions {
  /** Single access tokens, or cut-offs, to revoke as well. */
  alsoRevoke?: readonly RevocationEntry[];
  /**
   * A change that commits or fails together with the revocation (a new password, a deleted user),
   * run after the sessions are ended; throwing there rolls everything back.
   */
  alongside?: (tx: Database) => Promise<void>;
  /** Write the audit event even when nothing was live to revoke. */
  alwaysAudit?: boolean;
  /**
   * Redis being away does not fail the call: the revocation stands in PostgreSQL and reaches the
   * denylist with the refill when Redis is back (a warning is logged). For the CLI's incident
   * commands, which an operator runs exactly when things are broken; the API answers 503 instead.
   */
  deferPush?: boolean;
  now?: Date;
}

/**
 * Ends sessions (and any single access tokens given), tells the denylist, and writes one audit
 * event. PostgreSQL commits first: when Redis is down the revocation stands there and this throws
 * DependencyUnavailableError (a 503); the denylist is refilled from PostgreSQL when Redis is back.
 * Returns the sessions ended.
 */
export async function revokeSessions(
  deps: RevocationDependencies,
  choice: SessionChoice | undefined,
  audit: AuditEvent & { reason: string },
  options: RevokeOptions = {},
): Promise<string[]> {
  const { reason, ...event } = audit;
  const { alsoRevoke = [], now = new Date() } = options;
  const { familyIds, revoked: ended } = await deps.db.transaction(async (tx) => {
    const selector = typeof choice === 'function' ? await choice(tx) : choice;
    const sessions = selector
      ? await revokeSessionsIn(tx, selector, reason, now, deps.accessTokenTtlSeconds)
      : { familyIds: [], revoked: [] };
    await options.alongside?.(tx);
    await recordRevokedTokens(tx, alsoRevoke, reason);
    if (sessions.familyIds.length > 0 || alsoRevoke.length > 0 || options.alwaysAudit) {
      const ended = sessions.familyIds;
      const details = {
        ...event.details,
        reason,
        sessions: ended.length <= AUDITED_SESSION_IDS ? ended : { count: ended.length },
        tokens: alsoRevoke.filter((entry): entry is DenylistEntry => !isCutoff(entry)).map((entry) => entry.jti),
        cutoffs: [...sessions.revoked, ...alsoRevoke].filter(isCutoff).map(({ kind, value, before }) => ({ kind, value, before })),
      };
      await recordAuditEvent(tx, deps, { ...event, details });
    }
    return sessions;
  });
  const entries = [...ended, ...alsoRevoke];
  if (options.deferPush) await pushToDenylist(deps, entries);
  else await deps.denylist.add(entries);
  return familyIds;
}
