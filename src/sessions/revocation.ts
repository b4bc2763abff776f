import { and, eq, gt, inArray, isNull, lte, ne } from 'drizzle-orm';
import type { Logger } from 'pino';
import { recordAuditEvent, type AuditEvent, type AuditSink } from '../audit/audit-log.js';
import type { Database } from '../db/database.js';
import { refreshTokenFamilies, refreshTokens, revokedTokens } from '../db/schema.js';
import type { Denylist, DenylistEntry } from '../denylist/denylist.js';

export interface RevocationDependencies extends AuditSink {
  db: Database;
  denylist: Denylist;
  logger: Logger;
}

/** Which sessions to end: some families (optionally only a given user's), all of a user's (but
 * perhaps the one in use), or all of a client's. */
export type SessionSelector = { familyIds: string[]; userId?: string } | { userId: string; exceptFamilyId?: string } | { clientId: string };

/**
 * Records access tokens as revoked in PostgreSQL, the durable record, inside the caller's
 * transaction. Pushing them to the denylist comes after the commit (see pushToDenylist).
 */
export async function recordRevokedTokens(db: Database, entries: readonly DenylistEntry[], reason: string): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insert(revokedTokens)
    .values(entries.map(({ jti, expiresAt }) => ({ jti, expiresAt: new Date(expiresAt * 1000), reason })))
    .onConflictDoNothing();
}

/**
 * Ends sessions inside the caller's transaction: the families are revoked (so their refresh tokens
 * die) and the access tokens they issued that are still live are recorded as revoked. Returns
 * those access tokens, for the denylist, and the families ended.
 */
export async function revokeSessionsIn(
  db: Database,
  selector: SessionSelector,
  reason: string,
  now: Date,
): Promise<{ familyIds: string[]; accessTokens: DenylistEntry[] }> {
  const conditions = [isNull(refreshTokenFamilies.revokedAt)];
  if ('familyIds' in selector) {
    if (selector.familyIds.length === 0) return { familyIds: [], accessTokens: [] };
    conditions.push(inArray(refreshTokenFamilies.id, selector.familyIds));
  }
  if ('userId' in selector && selector.userId) conditions.push(eq(refreshTokenFamilies.userId, selector.userId));
  if ('exceptFamilyId' in selector && selector.exceptFamilyId) conditions.push(ne(refreshTokenFamilies.id, selector.exceptFamilyId));
  if ('clientId' in selector) conditions.push(eq(refreshTokenFamilies.clientId, selector.clientId));
  const ended = await db
    .update(refreshTokenFamilies)
    .set({ revokedAt: now, revokedReason: reason })
    .where(and(...conditions))
    .returning({ id: refreshTokenFamilies.id });
  const familyIds = ended.map((family) => family.id);
  if (familyIds.length === 0) return { familyIds, accessTokens: [] };

  const live = await db
    .select({ jti: refreshTokens.accessJti, expiresAt: refreshTokens.accessExpiresAt })
    .from(refreshTokens)
    .where(and(inArray(refreshTokens.familyId, familyIds), gt(refreshTokens.accessExpiresAt, now)));
  const accessTokens = live.map(({ jti, expiresAt }) => ({ jti, expiresAt: Math.floor(expiresAt.getTime() / 1000) }));
  await recordRevokedTokens(db, accessTokens, reason);
  return { familyIds, accessTokens };
}

export interface RevokeOptions {
  /** Single access tokens to revoke as well. */
  alsoRevoke?: readonly DenylistEntry[];
  /**
   * A change that commits or fails together with the revocation (a new password, a deleted user),
   * run after the sessions are ended; throwing there rolls everything back.
   */
  alongside?: (tx: Database) => Promise<void>;
  /** Write the audit event even when nothing was live to revoke. */
  alwaysAudit?: boolean;
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
  selector: SessionSelector | undefined,
  audit: AuditEvent & { reason: string },
  options: RevokeOptions = {},
): Promise<string[]> {
  const { reason, ...event } = audit;
  const { alsoRevoke = [], now = new Date() } = options;
  const { familyIds, accessTokens } = await deps.db.transaction(async (tx) => {
    const revoked = selector ? await revokeSessionsIn(tx, selector, reason, now) : { familyIds: [], accessTokens: [] };
    await options.alongside?.(tx);
    await recordRevokedTokens(tx, alsoRevoke, reason);
    if (revoked.familyIds.length > 0 || alsoRevoke.length > 0 || options.alwaysAudit) {
      const details = { ...event.details, reason, sessions: revoked.familyIds, tokens: alsoRevoke.map((entry) => entry.jti) };
      await recordAuditEvent(tx, deps, { ...event, details });
    }
    return revoked;
  });
  await deps.denylist.add([...accessTokens, ...alsoRevoke]);
  return familyIds;
}

/** Pushes entries after a commit, when the caller's answer does not depend on it. */
export async function pushToDenylist(deps: RevocationDependencies, entries: readonly DenylistEntry[]): Promise<void> {
  await deps.denylist.add(entries).catch((error: unknown) => {
    deps.logger.warn({ err: error }, 'denylist unavailable; revocations stay in PostgreSQL and are pushed when it is back');
  });
}

/**
 * Fills the denylist from PostgreSQL with the revoked tokens not yet expired: all of them, marking
 * the store complete (see Denylist.refill), or only those revoked since a moment (with a second of
 * overlap, as clocks and commits are not instant).
 */
export async function refillDenylist(deps: RevocationDependencies, options: { since?: Date; now?: Date } = {}): Promise<number> {
  const now = options.now ?? new Date();
  if (!options.since) await pruneRevokedTokens(deps.db, now);
  const conditions = [gt(revokedTokens.expiresAt, now)];
  if (options.since) conditions.push(gt(revokedTokens.revokedAt, new Date(options.since.getTime() - 1000)));
  const rows = await deps.db
    .select({ jti: revokedTokens.jti, expiresAt: revokedTokens.expiresAt })
    .from(revokedTokens)
    .where(and(...conditions));
  const entries = rows.map(({ jti, expiresAt }) => ({ jti, expiresAt: Math.floor(expiresAt.getTime() / 1000) }));
  if (options.since) {
    for (let start = 0; start < entries.length; start += 1000) await deps.denylist.add(entries.slice(start, start + 1000));
  } else {
    await deps.denylist.refill(entries);
  }
  return entries.length;
}

/**
 * Keeps the shared denylist complete: a full refill whenever asked (at start and each time Redis
 * becomes ready, as a restarted Redis comes back empty), retried with backoff until it succeeds,
 * however long PostgreSQL or Redis stay away. Until then the store is not marked complete, so
 * nothing reads its emptiness as "nothing revoked" (see Denylist.isRevoked).
 */
export function createDenylistRefiller(deps: RevocationDependencies, backoff = { firstMs: 500, maxMs: 30_000 }) {
  let running = false;
  let requestedAgain = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;

  function run(): void {
    if (stopped) return;
    clearTimeout(retry);
    // A request while a refill runs (Redis came back again meanwhile) gets a refill of its own after it.
    if (running) {
      requestedAgain = true;
      return;
    }
    running = true;
    refillDenylist(deps)
      .then(
        (count) => {
          failures = 0;
          deps.logger.info({ count }, 'denylist filled from PostgreSQL');
        },
        (error: unknown) => {
          failures += 1;
          const delayMs = Math.min(backoff.maxMs, backoff.firstMs * 2 ** (failures - 1));
          deps.logger.warn({ err: error, retryInMs: delayMs }, 'could not fill the denylist; retrying');
          if (!stopped) retry = setTimeout(run, delayMs);
          retry?.unref();
        },
      )
      .finally(() => {
        running = false;
        if (requestedAgain) {
          requestedAgain = false;
          run();
        }
      });
  }

  return {
    /** Refill now (or right after the refill in progress). */
    request: run,
    stop() {
      stopped = true;
      clearTimeout(retry);
    },
  };
}

/**
 * Without Redis, instances sharing PostgreSQL (and the CLI) learn of each other's revocations by
 * reading the new ones every `intervalMs`. Returns a function that stops it.
 */
export function followRevocationsInDatabase(deps: RevocationDependencies, intervalMs: number): () => void {
  let since = new Date();
  const timer = setInterval(() => {
    const started = new Date();
    refillDenylist(deps, { since }).then(
      () => (since = started),
      (error: unknown) => deps.logger.warn({ err: error }, 'could not read new revocations; will retry'),
    );
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Drops records whose tokens have expired: nothing can present them any more. */
export async function pruneRevokedTokens(db: Database, now = new Date()): Promise<void> {
  await db.delete(revokedTokens).where(lte(revokedTokens.expiresAt, now));
}
