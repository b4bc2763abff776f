// Keeping the denylist (Redis, or the in-process one) in step with the durable record in PostgreSQL.
import type { Database } from '../db/database.js';
import type { Denylist, RevocationEntry } from '../denylist/denylist.js';
import type { RevocationDependencies } from './ending-sessions.js';
import { liveRevocations, pruneRevokedTokens } from './revocation-store.js';

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
  deps: { db: Database; denylist: Denylist },
  options: { since?: Date; now?: Date } = {},
): Promise<number> {
  const now = options.now ?? new Date();
  if (!options.since) await pruneRevokedTokens(deps.db, now);
  const entries = await liveRevocations(deps.db, now, options.since && new Date(options.since.getTime() - 1000));
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
