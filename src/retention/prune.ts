import type { SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { pruneBatch, pruneConditions, type PrunedTable } from './retention-store.js';

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

export type { PrunedTable } from './retention-store.js';
export type PruneReport = Record<PrunedTable, number>;

/** Rows per statement: short transactions that never hold many locks or block writers for long. */
const BATCH = 1000;

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
    webauthn_challenges: 0,
  };
  for (const [table, condition] of Object.entries(pruneConditions(policy, now)) as [PrunedTable, SQL][]) {
    for (;;) {
      const deleted = await pruneBatch(db, table, condition, BATCH);
      if (deleted === undefined) return undefined;
      report[table] += deleted;
      if (deleted < BATCH) break;
    }
  }
  return report;
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
