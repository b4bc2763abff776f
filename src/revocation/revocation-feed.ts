// The revocation feed (docs/security.md, "The revocation feed"): what a verifier outside the
// issuer's network follows over HTTPS instead of Redis. It reads the durable record in PostgreSQL,
// which every instance shares, so a cursor from one instance is good at any other, in every mode.
import type { Database } from '../db/database.js';
import { toWire, type DenylistEntry } from '../denylist/denylist.js';
import { outsideRequest } from '../request-deadline.js';
import { liveRevocations } from './revocation-store.js';

/**
 * A position in the feed: the issuer's clock, in milliseconds, up to which the entries it gave are
 * complete. A revocation is stamped when its transaction writes it and seen once it commits, so
 * resuming reads from `RESUME_MARGIN_MS` before the cursor: a transaction slower than that to
 * commit would be missed (the request deadline is at most 60 s; revocations take milliseconds).
 */
export type FeedCursor = number;
export const RESUME_MARGIN_MS = 60_000;

/** One batch of the feed: revoked token ids and cut-offs, on the wire as the denylist has them. */
export interface FeedBatch {
  cursor: FeedCursor;
  entries: DenylistEntry[];
}

export interface RevocationFeed {
  /** Every live revocation, and the cursor to follow from. */
  snapshot(): Promise<FeedBatch>;
  /**
   * Follows from `cursor`: first what was revoked since (one batch, perhaps empty), then each new
   * batch as it commits, at most `pollIntervalMs` later. Returns the function that stops it.
   */
  follow(cursor: FeedCursor, send: (batch: FeedBatch) => void, onError: (error: unknown) => void): () => void;
  /** How many follow now. */
  followers(): number;
  /**
   * Seconds since the record was last read for the streams: about the poll interval while it
   * works, growing while PostgreSQL cannot be read; 0 while nobody follows.
   */
  lagSeconds(): number;
}

export interface RevocationFeedOptions {
  db: Database;
  /** How often the record is read while anyone follows. Default 250 ms. */
  pollIntervalMs?: number;
  now?: () => number;
}

/** An entry's identity on the wire: the same revocation read twice is sent once. */
const keyOf = (entry: DenylistEntry) => `${entry.jti}\u0000${entry.expiresAt}`;

/**
 * One reader per instance, however many follow: while anyone does, it reads what was revoked since
 * its last read (less the margin) every `pollIntervalMs`, drops what it sent already, and hands the
 * rest to every follower. Nothing depends on Redis, so the feed works the same embedded and in a fleet.
 */
export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
  const { db } = options;
  const now = options.now ?? Date.now;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const followers = new Set<{ send: (batch: FeedBatch) => void; onError: (error: unknown) => void }>();
  /** What was sent, by key, with when it was first read: kept for the margin, then forgotten. */
  const sent = new Map<string, number>();
  let lastRead = now();
  let lastSuccess = now();
  let timer: NodeJS.Timeout | undefined;

  /** What is live and was revoked since `since` (less the margin), or all that is live. */
  const read = async (since?: FeedCursor): Promise<FeedBatch> => {
    const at = now();
    const from = since === undefined ? undefined : new Date(since - RESUME_MARGIN_MS);
    return { cursor: at, entries: (await liveRevocations(db, new Date(at), from)).map(toWire) };
  };

  async function poll() {
    try {
      const batch = await read(lastRead);
      lastRead = batch.cursor;
      lastSuccess = batch.cursor;
      const fresh = batch.entries.filter((entry) => !sent.has(keyOf(entry)));
      for (const entry of fresh) sent.set(keyOf(entry), batch.cursor);
      for (const [key, seenAt] of sent) if (seenAt < batch.cursor - 2 * RESUME_MARGIN_MS) sent.delete(key);
      for (const follower of followers) follower.send({ cursor: batch.cursor, entries: fresh });
    } catch (error) {
      for (const follower of followers) follower.onError(error);
    } finally {
      timer = followers.size > 0 ? setTimeout(() => void poll(), pollIntervalMs) : undefined;
      timer?.unref();
    }
  }

  return {
    snapshot: () => read(),
    follow(cursor, send, onError) {
      const follower = { send, onError };
      followers.add(follower);
      if (timer === undefined) {
        // Nothing was read while nobody followed: start from here, what came before is the catch-up's.
        lastRead = now();
        lastSuccess = lastRead;
        sent.clear();
        // The reader serves every stream: the deadline of the request that started it is not its own.
        timer = outsideRequest(() => setTimeout(() => void poll(), pollIntervalMs));
        timer.unref();
      }
      read(cursor).then(
        (batch) => followers.has(follower) && send(batch),
        (error: unknown) => followers.has(follower) && onError(error),
      );
      return () => {
        followers.delete(follower);
      };
    },
    followers: () => followers.size,
    lagSeconds: () => (followers.size === 0 ? 0 : (now() - lastSuccess) / 1000),
  };
}
