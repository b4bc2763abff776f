import { createHash } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { invalidRequest, tooManyRequests } from '../../errors.js';
import type { FeedCursor, RevocationFeed } from '../../revocation/revocation-feed.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { AppEnv } from '../app-env.js';
import type { BearerGuards } from '../middleware/bearer-auth.js';

export interface RevocationFeedRouteOptions {
  feed: RevocationFeed;
  guards: BearerGuards;
  /** The process is shutting down: streams end, so that verifiers resume at another instance. */
  lifecycle: { draining: boolean };
  /** REVOCATION_FEED_MAX_CONNECTIONS: streams this instance serves at once. */
  maxConnections: number;
  /** Seconds between heartbeats. Default 10. */
  heartbeatSeconds?: number;
  now?: () => number;
  metrics?: Pick<Metrics, 'feedStreams' | 'feedEntriesSent'>;
}

/** A cursor as the feed gave it: milliseconds of the issuer's clock, never ahead of it by much. */
function cursorOf(value: string | undefined, now: number): FeedCursor | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value) || Number(value) > now + 60_000) {
    throw invalidRequest('the cursor (or Last-Event-ID) must be one this feed gave');
  }
  return Number(value);
}

/**
 * GET /revocations (every live revocation and a cursor) and GET /revocations/stream (Server-Sent
 * Events from a cursor): what a verifier follows instead of the issuer's Redis, with a machine
 * client's token for the scope `revocations:read`. Entries are on the wire as the denylist has them
 * (`{jti, expiresAt}`, a cut-off as `:cutoff:<kind>:<before>:<value>`); nothing else about a token
 * or a user is in them.
 */
export function revocationFeedRoutes(options: RevocationFeedRouteOptions): Hono<AppEnv> {
  const { feed } = options;
  const now = options.now ?? Date.now;
  const heartbeatMs = (options.heartbeatSeconds ?? 10) * 1000;
  const routes = new Hono<AppEnv>();
  const reader = options.guards.revocationReader();

  routes.get('/revocations', reader, async function revocationSnapshot(c) {
    const snapshot = await feed.snapshot();
    const body = JSON.stringify({ cursor: String(snapshot.cursor), entries: snapshot.entries });
    // The same entries are the same answer whatever the cursor: a poller gets 304 until something changes.
    const etag = `"${createHash('sha256').update(JSON.stringify(snapshot.entries)).digest('base64url').slice(0, 22)}"`;
    const headers = { 'Cache-Control': 'private, no-cache', ETag: etag };
    if (c.req.header('If-None-Match') === etag) return c.body(null, 304, headers);
    return c.body(body, 200, { ...headers, 'Content-Type': 'application/json' });
  });

  routes.get('/revocations/stream', reader, function revocationStream(c) {
    const from = cursorOf(c.req.header('Last-Event-ID') ?? c.req.query('cursor'), now()) ?? now();
    if (feed.followers() >= options.maxConnections) {
      throw tooManyRequests(5, 'this instance follows as many feed readers as it may; retry (another instance may have room)');
    }
    // Proxies must pass events on as they come (nginx buffers otherwise).
    c.header('Cache-Control', 'no-store');
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, (stream) => follow(c, stream, from));
  });

  async function follow(c: Context<AppEnv>, stream: Parameters<Parameters<typeof streamSSE>[1]>[0], from: FeedCursor) {
    let latest = from;
    let failed = false;
    const stop = feed.follow(
      from,
      (batch) => {
        latest = Math.max(latest, batch.cursor);
        if (batch.entries.length === 0) return;
        options.metrics?.feedEntriesSent.inc(batch.entries.length);
        void stream.writeSSE({ event: 'revocations', id: String(batch.cursor), data: JSON.stringify(batch.entries) }).catch(() => {});
      },
      (error) => {
        // The record could not be read: end the stream, so that the verifier resumes elsewhere or later.
        c.get('logger')?.warn({ err: error }, 'revocation feed: the record could not be read; ending the stream');
        failed = true;
      },
    );
    stream.onAbort(stop);
    options.metrics?.feedStreams.inc();
    try {
      await stream.writeSSE({ event: 'ready', id: String(from), data: '[]', retry: 2000 });
      let quiet = 0;
      while (!stream.aborted && !failed && !options.lifecycle.draining) {
        await stream.sleep(Math.min(1000, heartbeatMs));
        quiet += Math.min(1000, heartbeatMs);
        if (quiet >= heartbeatMs) {
          quiet = 0;
          // A heartbeat carries the cursor: a verifier resumes from here, not from its last revocation.
          await stream.writeSSE({ event: 'heartbeat', id: String(latest), data: '[]' });
        }
      }
    } finally {
      stop();
      options.metrics?.feedStreams.dec();
    }
  }

  return routes;
}
