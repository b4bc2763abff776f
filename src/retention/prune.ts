import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { EXPIRY_GRACE_SECONDS } from '../denylist/denylist.js';

/** Seconds each kind of row is kept once it serves no token any more. */
export interface RetentionPolicy {
  /**
   * A refresh token spent (or expired) this long ago goes, once the access token issued with it has
   * expired too. Until then a spent token presented again is detected as reuse and ends its session;
   * after, it is refused as unknown (invalid_grant) and ends nothing.
   */
  spentRefreshTokens: number;
  /** A session revoked or expired this long ago goes, with its tokens (it is no longer listed anyway). */
  endedSessions: number;
  auditEvents: number;
}

export type PrunedTable =
  | 'refresh_tokens'
  | 'refresh_token_families'
  | 'audit_events'
  | 'revoked_tokens'
  | 'revocation_cutoffs'
  | 'password_reset_tokens'
  | 'authorization_requests'
  | 'authorization_codes'
  | 'browser_sessions';
export type PruneReport = Record<PrunedTable, number>;

/** Rows per statement: short transactions that never hold many locks or block writers for long. */
const BATCH = 1000;
/** One pruning instance at a time (transaction-scoped advisory lock, taken without waiting). */
const PRUNE_LOCK_KEY = 7_383_411_930;

/**
 * What each table keeps. Every condition only selects rows that no live token needs: expired
 * revocations and cut-offs (every token they can cover has expired, and verifiers' clock tolerance
 * has passed), reset links and pending authorization requests past their expiry, codes and
 * browser sessions ended long enough ago, refresh tokens
 * whose access token has expired and that were spent or expired long enough ago, ended sessions,
 * old audit events.
 */
function conditions(policy: RetentionPolicy, now: Date): Record<PrunedTable, SQL> {
  const before = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();
  const at = now.toISOString();
  const spent = before(policy.spentRefreshTokens);
  const ended = before(policy.endedSessions);
  return {
    refresh_tokens: sql`access_expires_at < ${at}::timestamptz and (used_at < ${spent}::timestamptz or expires_at < ${spent}::timestamptz)`,
    refresh_token_families: sql`revoked_at < ${ended}::timestamptz or expires_at < ${ended}::timestamptz`,
    audit_events: sql`occurred_at < ${before(policy.auditEvents)}::timestamptz`,
    revoked_tokens: sql`expires_at <= ${before(EXPIRY_GRACE_SECONDS)}::timestamptz`,
    revocation_cutoffs: sql`expires_at <= ${before(EXPIRY_GRACE_SECONDS)}::timestamptz`,
    password_reset_tokens: sql`expires_at <= ${at}::timestamptz`,
    authorization_requests: sql`expires_at <= ${at}::timestamptz`,
    // Kept as long as a spent refresh token, so that a code presented again still ends its session.
    authorization_codes: sql`expires_at < ${spent}::timestamptz`,
    browser_sessions: sql`ended_at < ${ended}::timestamptz or expires_at < ${ended}::timestamptz`,
  };
}

/**
 * Deletes what the policy no longer keeps, in batches of 1000 rows, each in its own short
 * transaction. Returns the rows deleted per table, or `undefined` when another instance is pruning
 * (its lock is held): then this one does nothing.
 */
export async function pruneOnce(db: Database, policy: RetentionPolicy, now = new Date()): Promise<PruneReport | undefined> {
  const report = {
    refresh_tokens: 0,
    refresh_token_families: 0,
    audit_events: 0,
    revoked_tokens: 0,
    revocation_cutoffs: 0,
    password_reset_tokens: 0,
    authorization_requests: 0,
    authorization_codes: 0,
    browser_sessions: 0,
  };
  for (const [table, condition] of Object.entries(conditions(policy, now)) as [PrunedTable, SQL][]) {
    for (;;) {
      const deleted = await db.transaction(async (tx) => {
        const [lock] = rowsOf<{ locked: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${PRUNE_LOCK_KEY}) as locked`));
        if (!lock?.locked) return undefined;
        const rows = rowsOf(
          await tx.execute(
            sql`delete from ${sql.identifier(table)} where ctid in (select ctid from ${sql.identifier(table)} where ${condition} limit ${BATCH}) returning 1`,
          ),
        );
        return rows.length;
      });
      if (deleted === undefined) return undefined;
      report[table] += deleted;
      if (deleted < BATCH) break;
    }
  }
  return report;
}

/** postgres.js answers rows as an array, PGlite as `{ rows }`. */
function rowsOf<T = unknown>(result: unknown): T[] {
  return ((result as { rows?: T[] }).rows ?? (result as T[])) as T[];
}

/**
 * Runs pruneOnce every `intervalSeconds` on every instance; the lock lets one of them work at a
 * time. Returns a function that stops it.
 */
export function schedulePruning(
  db: Database,
  policy: RetentionPolicy,
  intervalSeconds: number,
  report: { pruned(counts: PruneReport): void; failed(error: unknown): void },
): () => void {
  const timer = setInterval(() => {
    pruneOnce(db, policy).then((counts) => counts && report.pruned(counts), report.failed);
  }, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
