import { and, eq, gt, inArray, isNull, lte, ne, or, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { recordAuditEvent, type AuditEvent, type AuditSink } from '../audit/audit-log.js';
import type { Database } from '../db/database.js';
import { refreshTokenFamilies, refreshTokens, revocationCutoffs, revokedTokens } from '../db/schema.js';
import {
  EXPIRY_GRACE_SECONDS,
  isCutoff,
  type Cutoff,
  type CutoffKind,
  type Denylist,
  type DenylistEntry,
  type RevocationEntry,
} from '../denylist/denylist.js';
import { endBrowserSessionsIn } from './browser-session-ending.js';

export interface RevocationDependencies extends AuditSink {
  db: Database;
  denylist: Denylist;
  logger: Logger;
  /** The longest an access token lives: a cut-off is kept that long after its moment. */
  accessTokenTtlSeconds: number;
}

/** What a cut-off covers (see Cutoff): all tokens of a subject, client, session or key, or every token. */
export interface CutoffTarget {
  kind: CutoffKind;
  value: string;
}

/** The cut-off of every token issued up to `at` (inclusive, to the second of the issuer's clock). */
export function cutoffAt(target: CutoffTarget, at: Date, accessTokenTtlSeconds: number): Cutoff {
  const before = Math.floor(at.getTime() / 1000);
  return { kind: target.kind, value: target.value, before, expiresAt: before + accessTokenTtlSeconds };
}

/**
 * Which sessions to end: some families (optionally only a given user's), all of a user's (but
 * perhaps the one in use), all of a client's, or every session; the last three optionally only
 * those signed in at or before a moment (incident response), which is then also their cut-off's.
 */
export type SessionSelector =
  | { familyIds: string[]; userId?: string }
  | { userId: string; exceptFamilyId?: string; signedInBefore?: Date }
  | { clientId: string; signedInBefore?: Date }
  | { all: true; signedInBefore?: Date };

/** Beyond this many, an audit event records how many sessions ended rather than which. */
const AUDITED_SESSION_IDS = 100;

/**
 * Records access tokens and cut-offs as revoked in PostgreSQL, the durable record, inside the
 * caller's transaction. Pushing them to the denylist comes after the commit (see pushToDenylist).
 * A later cut-off for the same subject, client, session or key replaces an earlier one.
 */
export async function recordRevokedTokens(db: Database, entries: readonly RevocationEntry[], reason: string): Promise<void> {
  const tokens = entries.filter((entry): entry is DenylistEntry => !isCutoff(entry));
  const cutoffs = entries.filter(isCutoff);
  if (tokens.length > 0) {
    await db
      .insert(revokedTokens)
      .values(tokens.map(({ jti, expiresAt }) => ({ jti, expiresAt: new Date(expiresAt * 1000), reason })))
      .onConflictDoNothing();
  }
  if (cutoffs.length > 0) {
    await db
      .insert(revocationCutoffs)
      .values(
        cutoffs.map(({ kind, value, before, expiresAt }) => ({
          kind,
          value,
          before: new Date(before * 1000),
          expiresAt: new Date(expiresAt * 1000),
          reason,
        })),
      )
      .onConflictDoUpdate({
        target: [revocationCutoffs.kind, revocationCutoffs.value],
        set: {
          before: sql`greatest(${revocationCutoffs.before}, excluded.before)`,
          expiresAt: sql`greatest(${revocationCutoffs.expiresAt}, excluded.expires_at)`,
          reason: sql`excluded.reason`,
          revokedAt: sql`now()`,
        },
      });
  }
}

/**
 * The cut-offs that ending sessions writes, beside the access tokens recorded in the sessions: all
 * of a user's or a client's sessions ended cover every token of that user or client (including
 * those no session recorded: a client's own client_credentials tokens, a token minted while the
 * revocation committed); single sessions, or all but the caller's own, cover their `sid`.
 */
function cutoffsFor(selector: SessionSelector, familyIds: string[]): CutoffTarget[] {
  if ('familyIds' in selector || ('exceptFamilyId' in selector && selector.exceptFamilyId)) {
    return familyIds.map((id) => ({ kind: 'sid' as const, value: id }));
  }
  if ('clientId' in selector) return [{ kind: 'client_id', value: selector.clientId }];
  if ('all' in selector) return [{ kind: 'all', value: '*' }];
  return [{ kind: 'sub', value: selector.userId }];
}

/**
 * Ends sessions inside the caller's transaction: the families are revoked (so their refresh tokens
 * die), and the access tokens they issued that are still live, and the selector's cut-offs, are
 * recorded as revoked; browser sessions the selector covers end too (browser-session-ending.ts).
 * Returns those entries, for the denylist, and the ids of the sessions ended, browser ones included.
 */
export async function revokeSessionsIn(
  db: Database,
  selector: SessionSelector,
  reason: string,
  now: Date,
  accessTokenTtlSeconds: number,
): Promise<{ familyIds: string[]; revoked: RevocationEntry[] }> {
  const conditions = [isNull(refreshTokenFamilies.revokedAt)];
  if ('familyIds' in selector && selector.familyIds.length === 0) return { familyIds: [], revoked: [] };
  const browserIds = await endBrowserSessionsIn(db, selector, reason, now);
  if ('familyIds' in selector) {
    // A browser session named here ends with every session started from it.
    const named = inArray(refreshTokenFamilies.id, selector.familyIds);
    conditions.push(browserIds.length > 0 ? or(named, inArray(refreshTokenFamilies.browserSessionId, browserIds))! : named);
  }
  if ('userId' in selector && selector.userId) conditions.push(eq(refreshTokenFamilies.userId, selector.userId));
  if ('exceptFamilyId' in selector && selector.exceptFamilyId) conditions.push(ne(refreshTokenFamilies.id, selector.exceptFamilyId));
  if ('clientId' in selector) conditions.push(eq(refreshTokenFamilies.clientId, selector.clientId));
  const signedInBefore = 'signedInBefore' in selector ? selector.signedInBefore : undefined;
  if (signedInBefore) conditions.push(lte(refreshTokenFamilies.authTime, signedInBefore));
  const ended = await db
    .update(refreshTokenFamilies)
    .set({ revokedAt: now, revokedReason: reason })
    .where(and(...conditions))
    .returning({ id: refreshTokenFamilies.id });
  const familyIds = ended.map((family) => family.id);
  const cutoffs = cutoffsFor(selector, familyIds).map((target) => cutoffAt(target, signedInBefore ?? now, accessTokenTtlSeconds));
  // Every session ended: the `all` cut-off covers their tokens issued up to it, so only those
  // issued after it are listed, rather than every live token of the issuer.
  const coveredUntil = 'all' in selector ? new Date((cutoffs[0]!.before + 1) * 1000) : undefined;
  const live =
    familyIds.length === 0
      ? []
      : await db
          .select({ jti: refreshTokens.accessJti, expiresAt: refreshTokens.accessExpiresAt })
          .from(refreshTokens)
          .where(
            and(
              inArray(
                refreshTokens.familyId,
                'all' in selector
                  ? db.select({ id: refreshTokenFamilies.id }).from(refreshTokenFamilies).where(eq(refreshTokenFamilies.revokedAt, now))
                  : familyIds,
              ),
              gt(refreshTokens.accessExpiresAt, now),
              coveredUntil && gt(refreshTokens.issuedAt, coveredUntil),
            ),
          );
  const revoked = [...live.map(({ jti, expiresAt }) => ({ jti, expiresAt: Math.floor(expiresAt.getTime() / 1000) })), ...cutoffs];
  await recordRevokedTokens(db, revoked, reason);
  return { familyIds: [...familyIds, ...browserIds], revoked };
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
 * Which sessions to end: fixed, or worked out inside the transaction by a change they depend on
 * (a withdrawn consent: the row is gone, and locked, before its client's sessions are read, so a
 * session started meanwhile is either read here or sees the consent gone).
 */
export type SessionChoice = SessionSelector | ((tx: Database) => Promise<SessionSelector>);

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

/** Pushes entries after a commit, when the caller's answer does not depend on it. */
export async function pushToDenylist(
  deps: Pick<RevocationDependencies, 'denylist' | 'logger'>,
  entries: readonly RevocationEntry[],
): Promise<void> {
  await deps.denylist.add(entries).catch((error: unknown) => {
    deps.logger.warn({ err: error }, 'denylist unavailable; revocations stay in PostgreSQL and are pushed when it is back');
  });
}

/**
 * Fills the denylist from PostgreSQL with the revoked tokens and cut-offs still live: all of them,
 * marking the store complete (see Denylist.refill), or only those revoked since a moment (with a
 * second of overlap, as clocks and commits are not instant).
 */
export async function refillDenylist(
  deps: Pick<RevocationDependencies, 'db' | 'denylist'>,
  options: { since?: Date; now?: Date } = {},
): Promise<number> {
  const now = options.now ?? new Date();
  if (!options.since) await pruneRevokedTokens(deps.db, now);
  const liveAfter = new Date(now.getTime() - EXPIRY_GRACE_SECONDS * 1000);
  const revokedSince = options.since && new Date(options.since.getTime() - 1000);
  const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
  const [tokens, cutoffs] = await Promise.all([
    deps.db
      .select({ jti: revokedTokens.jti, expiresAt: revokedTokens.expiresAt })
      .from(revokedTokens)
      .where(and(gt(revokedTokens.expiresAt, liveAfter), revokedSince && gt(revokedTokens.revokedAt, revokedSince))),
    deps.db
      .select()
      .from(revocationCutoffs)
      .where(and(gt(revocationCutoffs.expiresAt, liveAfter), revokedSince && gt(revocationCutoffs.revokedAt, revokedSince))),
  ]);
  const entries: RevocationEntry[] = [
    ...tokens.map(({ jti, expiresAt }) => ({ jti, expiresAt: seconds(expiresAt) })),
    ...cutoffs.map(({ kind, value, before, expiresAt }) => ({
      kind: kind as CutoffKind,
      value,
      before: seconds(before),
      expiresAt: seconds(expiresAt),
    })),
  ];
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

/** Drops records whose tokens have expired (and the verifiers' clock tolerance passed): nothing can present them any more. */
export async function pruneRevokedTokens(db: Database, now = new Date()): Promise<void> {
  const expired = new Date(now.getTime() - EXPIRY_GRACE_SECONDS * 1000);
  await db.delete(revokedTokens).where(lte(revokedTokens.expiresAt, expired));
  await db.delete(revocationCutoffs).where(lte(revocationCutoffs.expiresAt, expired));
}
