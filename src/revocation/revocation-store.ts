// The durable record of revocations (tables revoked_tokens and revocation_cutoffs), and ending
// sessions in the tables that hold them (refresh_token_families, browser_sessions).
import { and, eq, gt, inArray, isNull, lte, ne, or, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { browserSessions, refreshTokenFamilies, refreshTokens, revocationCutoffs, revokedTokens } from '../db/schema.js';
import { EXPIRY_GRACE_SECONDS, isCutoff, type CutoffKind, type DenylistEntry, type RevocationEntry } from '../denylist/denylist.js';
import type { SessionSelector } from './session-selector.js';

/**
 * Records access tokens and cut-offs as revoked, inside the caller's transaction. A later cut-off
 * for the same subject, client, session or key replaces an earlier one.
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

/** The revoked tokens and cut-offs still live at `now` (plus the verifiers' clock tolerance), or only those revoked after `since`. */
export async function liveRevocations(db: Database, now: Date, since?: Date): Promise<RevocationEntry[]> {
  const liveAfter = new Date(now.getTime() - EXPIRY_GRACE_SECONDS * 1000);
  const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
  const [tokens, cutoffs] = await Promise.all([
    db
      .select({ jti: revokedTokens.jti, expiresAt: revokedTokens.expiresAt })
      .from(revokedTokens)
      .where(and(gt(revokedTokens.expiresAt, liveAfter), since && gt(revokedTokens.revokedAt, since))),
    db
      .select()
      .from(revocationCutoffs)
      .where(and(gt(revocationCutoffs.expiresAt, liveAfter), since && gt(revocationCutoffs.revokedAt, since))),
  ]);
  return [
    ...tokens.map(({ jti, expiresAt }) => ({ jti, expiresAt: seconds(expiresAt) })),
    ...cutoffs.map(({ kind, value, before, expiresAt }) => ({
      kind: kind as CutoffKind,
      value,
      before: seconds(before),
      expiresAt: seconds(expiresAt),
    })),
  ];
}

/** Drops records whose tokens have expired (and the verifiers' clock tolerance passed): nothing can present them any more. */
export async function pruneRevokedTokens(db: Database, now = new Date()): Promise<void> {
  const expired = new Date(now.getTime() - EXPIRY_GRACE_SECONDS * 1000);
  await db.delete(revokedTokens).where(lte(revokedTokens.expiresAt, expired));
  await db.delete(revocationCutoffs).where(lte(revocationCutoffs.expiresAt, expired));
}

export interface EndedSessions {
  /** The refresh-token families ended. */
  familyIds: string[];
  /** The browser sessions ended (their ids share the namespace of session ids). */
  browserIds: string[];
  /** The access tokens the ended families issued that are still live. */
  liveAccessTokens: DenylistEntry[];
}

/**
 * Ends the sessions a selector covers, inside the caller's transaction: the browser sessions first
 * (a named one ends with every family started from it), then the families. `issuedAfter` leaves
 * out access tokens a cut-off already covers.
 */
export async function endSessionsIn(
  db: Database,
  selector: SessionSelector,
  reason: string,
  now: Date,
  options: { issuedAfter?: Date } = {},
): Promise<EndedSessions> {
  if ('familyIds' in selector && selector.familyIds.length === 0) return { familyIds: [], browserIds: [], liveAccessTokens: [] };
  const browserConditions = browserConditionsOf(db, selector);
  const browsers = browserConditions
    ? await db
        .update(browserSessions)
        .set({ endedAt: now, endedReason: reason })
        .where(and(isNull(browserSessions.endedAt), ...browserConditions))
        .returning({ id: browserSessions.id })
    : [];
  const browserIds = browsers.map((session) => session.id);
  const ended = await db
    .update(refreshTokenFamilies)
    .set({ revokedAt: now, revokedReason: reason })
    .where(and(isNull(refreshTokenFamilies.revokedAt), ...familyConditionsOf(selector, browserIds)))
    .returning({ id: refreshTokenFamilies.id });
  const familyIds = ended.map((family) => family.id);
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
                // Every session ended: read them back rather than send their ids to the database.
                'all' in selector
                  ? db.select({ id: refreshTokenFamilies.id }).from(refreshTokenFamilies).where(eq(refreshTokenFamilies.revokedAt, now))
                  : familyIds,
              ),
              gt(refreshTokens.accessExpiresAt, now),
              options.issuedAfter && gt(refreshTokens.issuedAt, options.issuedAfter),
            ),
          );
  const liveAccessTokens = live.map(({ jti, expiresAt }) => ({ jti, expiresAt: Math.floor(expiresAt.getTime() / 1000) }));
  return { familyIds, browserIds, liveAccessTokens };
}

/** The selector, for the families (the one place it is translated, with browserConditionsOf). */
function familyConditionsOf(selector: SessionSelector, endedBrowserIds: string[]): (SQL | undefined)[] {
  const families = refreshTokenFamilies;
  if ('familyIds' in selector) {
    // A browser session named here ends with every session started from it.
    const named = inArray(families.id, selector.familyIds);
    const started = endedBrowserIds.length > 0 ? inArray(families.browserSessionId, endedBrowserIds) : undefined;
    return [started ? or(named, started) : named, selector.userId ? eq(families.userId, selector.userId) : undefined];
  }
  const signedIn = selector.signedInBefore && lte(families.authTime, selector.signedInBefore);
  if ('clientId' in selector) return [eq(families.clientId, selector.clientId), signedIn];
  if ('all' in selector) return [signedIn];
  const keptBrowser = selector.exceptBrowserSessionId
    ? sql`${families.browserSessionId} is distinct from ${selector.exceptBrowserSessionId}`
    : undefined;
  return [
    eq(families.userId, selector.userId),
    selector.exceptFamilyId ? ne(families.id, selector.exceptFamilyId) : undefined,
    keptBrowser,
    signedIn,
  ];
}

/** The selector, for the browser sessions; undefined when it ends none (a client's sessions). */
function browserConditionsOf(db: Database, selector: SessionSelector): (SQL | undefined)[] | undefined {
  const browsers = browserSessions;
  if ('clientId' in selector) return undefined;
  if ('familyIds' in selector) {
    return [inArray(browsers.id, selector.familyIds), selector.userId ? eq(browsers.userId, selector.userId) : undefined];
  }
  const signedIn = selector.signedInBefore && lte(browsers.authTime, selector.signedInBefore);
  if ('all' in selector) return [signedIn];
  // The browser the caller's own session started from stays signed in with it.
  const kept =
    selector.exceptFamilyId &&
    sql`${browsers.id} is distinct from (${db
      .select({ id: refreshTokenFamilies.browserSessionId })
      .from(refreshTokenFamilies)
      .where(eq(refreshTokenFamilies.id, selector.exceptFamilyId))})`;
  const keptBrowser = selector.exceptBrowserSessionId ? ne(browsers.id, selector.exceptBrowserSessionId) : undefined;
  return [eq(browsers.userId, selector.userId), kept || undefined, keptBrowser, signedIn];
}
