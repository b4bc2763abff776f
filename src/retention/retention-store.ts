// The deletes of the retention job (prune.ts): what each table keeps, and one batch at a time.
import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { EXPIRY_GRACE_SECONDS } from '../denylist/denylist.js';
import type { RetentionPolicy } from './prune.js';

export type PrunedTable =
  | 'refresh_tokens'
  | 'refresh_token_families'
  | 'audit_events'
  | 'revoked_tokens'
  | 'revocation_cutoffs'
  | 'password_reset_tokens'
  | 'authorization_requests'
  | 'authorization_codes'
  | 'browser_sessions'
  | 'webauthn_challenges';

/** One pruning instance at a time (transaction-scoped advisory lock, taken without waiting). */
const PRUNE_LOCK_KEY = 7_383_411_930;

/**
 * What each table keeps. Every condition only selects rows that no live token needs: expired
 * revocations and cut-offs (every token they can cover has expired, and verifiers' clock tolerance
 * has passed), reset links and pending authorization requests past their expiry, codes and
 * browser sessions ended long enough ago, passkey challenges past their expiry, refresh tokens
 * whose access token has expired and that were spent or expired long enough ago, ended sessions,
 * old audit events.
 */
export function pruneConditions(policy: RetentionPolicy, now: Date): Record<PrunedTable, SQL> {
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
    webauthn_challenges: sql`expires_at <= ${at}::timestamptz`,
  };
}

/**
 * Deletes up to `batch` rows of `table` that `condition` selects, in one short transaction; the
 * rows deleted, or undefined when another instance is pruning (its lock is held).
 */
export async function pruneBatch(db: Database, table: PrunedTable, condition: SQL, batch: number): Promise<number | undefined> {
  return db.transaction(async (tx) => {
    const [lock] = rowsOf<{ locked: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${PRUNE_LOCK_KEY}) as locked`));
    if (!lock?.locked) return undefined;
    const rows = rowsOf(
      await tx.execute(
        sql`delete from ${sql.identifier(table)} where ctid in (select ctid from ${sql.identifier(table)} where ${condition} limit ${batch}) returning 1`,
      ),
    );
    return rows.length;
  });
}

/** postgres.js answers rows as an array, PGlite as `{ rows }`. */
function rowsOf<T = unknown>(result: unknown): T[] {
  return ((result as { rows?: T[] }).rows ?? (result as T[])) as T[];
}
