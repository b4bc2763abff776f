import type { Cluster, Redis } from 'ioredis';
import { EXPIRY_GRACE_SECONDS, systemEpochSeconds, type DenylistEntry, type EpochClock } from './expiring-set.js';
import { fromWire, RevocationTable, type RevocationEntry, type RevocationFacts, type RevocationReason } from './revocation-table.js';

/**
 * The issuer's denylist layout in Redis, shared by the issuer and every verifier: a sorted set
 * `<prefix>denylist` (member jti, score exp) and a channel `<prefix>denylist:added` carrying each
 * addition as a JSON array of `{ jti, expiresAt }`. Cut-offs travel the same way, their member
 * spelled `:cutoff:<kind>:<before>:<value>` (see revocation-table.ts).
 */
export const denylistKey = (prefix: string) => `${prefix}denylist`;
export const denylistChannel = (prefix: string) => `${prefix}denylist:added`;

/**
 * A member of the sorted set that is no jti (those are base64url, never with a colon), with score
 * +inf: the issuer adds it once the set holds every revocation of its durable record. Redis keeps
 * nothing across a restart here, so an empty set without it is "not refilled yet", never "nothing
 * revoked". It lives in the set itself, so reading it with the jtis is one command on one key.
 */
export const DENYLIST_COMPLETE_MEMBER = ':complete';
/** Published on the channel when the set has been refilled (the channel otherwise carries arrays of entries). */
export const DENYLIST_REFILLED_NOTICE = JSON.stringify({ refilled: true });

/** A Redis connection: one node (or a primary behind Sentinel), or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * A connection of its own for SUBSCRIBE, beside `redis`, with the same servers and settings. The
 * mirror subscribes again itself on every connect (then reloads), so ioredis's own resubscription,
 * whose failure at a close nobody could catch, is off.
 */
function subscriberFor(redis: RedisClient, connectionName: string): RedisClient {
  if (redis.isCluster)
    return (redis as Cluster).duplicate(undefined, { enableOfflineQueue: true, redisOptions: { connectionName, autoResubscribe: false } });
  return (redis as Redis).duplicate({ enableOfflineQueue: true, connectionName, autoResubscribe: false });
}

/** A local copy of the denylist that Redis keeps current by push. */
export interface DenylistMirror {
  /** Whether this token id is revoked on its own. */
  has(jti: string): boolean;
  /** Why this token is revoked (its jti, or a cut-off covering it), or undefined. */
  refusal(token: RevocationFacts): RevocationReason | undefined;
  /** The latest cut-off that would cover a token with these facts (see RevocationTable.latestCutoff). */
  latestCutoff(token: Omit<RevocationFacts, 'jti' | 'iat'>): number | undefined;
  /** Entries the issuer wrote itself, known here before their push comes back. */
  add(entries: readonly RevocationEntry[]): void;
  /** How many live entries it holds. */
  size(): number;
  /**
   * Seconds since the copy was last known to be complete: 0 while connected and loaded from a set
   * the issuer marked complete, the time since it stopped being so otherwise (a dropped connection,
   * or a Redis restarted and not yet refilled), Infinity before it was ever complete.
   */
  staleness(): number;
  /** Resolves once the copy is first complete. */
  readonly ready: Promise<void>;
  /** Resolves once the set was first read, complete or not: from then on staleness() says it all. */
  readonly loaded: Promise<void>;
  close(): Promise<void>;
}

/**
 * Where a copy stands: following a complete set; connected to a set the issuer has not marked
 * complete (a restarted Redis not refilled yet, or no issuer writing there at all); or cut off
 * from Redis.
 */
export type DenylistState = { state: 'complete' } | { state: 'incomplete' } | { state: 'disconnected'; reason: string };

export interface DenylistMirrorOptions {
  /** A connection for commands; the mirror opens its own subscriber connection beside it. */
  redis: RedisClient;
  prefix: string;
  now?: EpochClock;
  onError?: (error: unknown) => void;
  /** Told each time the copy's state changes (not on every error while it stays the same). */
  onStateChange?: (state: DenylistState) => void;
}

const RELOAD_RETRY_MS = 1000;

/**
 * Subscribes first, then loads the whole set, so nothing added in between is missed; after every
 * reconnect (ioredis subscribes again by itself) it loads the whole set again, so nothing published
 * while it was away is missed either. Between reconnects it keeps the last set, and a reload only
 * adds to it. A set without the issuer's completeness mark (Redis restarted, not yet refilled) does
 * not count as complete: the copy stays stale until the refill's notice arrives.
 */
export function createDenylistMirror(options: DenylistMirrorOptions): DenylistMirror {
  const { redis, prefix } = options;
  const now = options.now ?? systemEpochSeconds;
  const onError = options.onError ?? (() => {});
  const local = new RevocationTable(now);
  const addWire = (pairs: readonly DenylistEntry[]) =>
    local.addAll(pairs.map(fromWire).filter((entry): entry is RevocationEntry => entry !== undefined));
  const channel = denylistChannel(prefix);
  const subscriber = subscriberFor(redis, `${prefix}denylist-mirror`);

  let loaded = false;
  let complete = false;
  let lostAt: number | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let markLoaded: () => void = () => {};
  const firstLoad = new Promise<void>((resolve) => (markLoaded = resolve));
  let reported: string | undefined;
  const report = (state: DenylistState) => {
    if (state.state === reported) return;
    reported = state.state;
    options.onStateChange?.(state);
  };
  const lost = (error: unknown) => report({ state: 'disconnected', reason: error instanceof Error ? error.message : String(error) });

  async function reload(): Promise<void> {
    clearTimeout(retry);
    try {
      const flat = await redis.zrangebyscore(denylistKey(prefix), `(${now() - EXPIRY_GRACE_SECONDS}`, '+inf', 'WITHSCORES');
      const pairs: DenylistEntry[] = [];
      let marked = false;
      for (let i = 0; i < flat.length; i += 2) {
        marked ||= flat[i] === DENYLIST_COMPLETE_MEMBER;
        pairs.push({ jti: flat[i]!, expiresAt: Number(flat[i + 1]) });
      }
      // Marks (members starting with a colon that are no cut-off) are dropped here.
      addWire(pairs);
      loaded = true;
      markLoaded();
      if (subscriber.status === 'ready' && marked) {
        complete = true;
        lostAt = undefined;
        markReady();
        report({ state: 'complete' });
      } else {
        if (complete) lostAt = Date.now();
        complete = false;
        if (subscriber.status === 'ready') report({ state: 'incomplete' });
      }
    } catch (error) {
      onError(error);
      lost(error);
      if (!closed) retry = setTimeout(() => void reload(), RELOAD_RETRY_MS);
    }
  }

  subscriber.on('error', (error: unknown) => {
    onError(error);
    lost(error);
  });
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    if (message === DENYLIST_REFILLED_NOTICE) return void reload();
    try {
      const pairs: unknown = JSON.parse(message);
      if (Array.isArray(pairs)) addWire(pairs as DenylistEntry[]);
    } catch (error) {
      onError(error);
    }
  });
  subscriber.on('close', () => {
    if (complete) lostAt = Date.now();
    complete = false;
    if (!closed) lost(new Error('the connection to Redis closed'));
  });
  // On every connect: subscribe (again; it is idempotent), and only then load, so no addition
  // falls between the load and the subscription.
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).then(reload, onError);
  });
  const pruner = setInterval(() => local.prune(), 60_000);
  pruner.unref();

  return {
    has: (jti) => local.hasToken(jti),
    refusal: (token) => local.refusal(token),
    latestCutoff: (token) => local.latestCutoff(token),
    add: (entries) => local.addAll(entries),
    size: () => local.size(),
    staleness: () => (complete ? 0 : !loaded || lostAt === undefined ? Number.POSITIVE_INFINITY : (Date.now() - lostAt) / 1000),
    ready,
    loaded: firstLoad,
    async close() {
      closed = true;
      clearTimeout(retry);
      clearInterval(pruner);
      subscriber.disconnect();
    },
  };
}
