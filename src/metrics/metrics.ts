import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEventType } from '../audit/audit-log.js';

/** What the metrics read at scrape time; each is cheap and never throws. */
export interface MetricsProbes {
  denylist: { size(): number; staleness(): number };
  passwordHashQueueDepth: () => number;
  /** When the key that signs now began signing, epoch milliseconds. */
  signingKeyActivatedAt: () => number;
  /** When KEY_ROTATION_INTERVAL makes the next keys, epoch milliseconds; undefined when there is no schedule. */
  nextKeyRotationAt?: () => number | undefined;
  /** The PostgreSQL pool (absent in the embedded mode). */
  databasePool?: { size: number; inUse(): number };
  /** Seconds since the revocation feed last read the record (revocation/revocation-feed.ts). */
  revocationFeedLag?: () => number;
  /** Each dependency and whether it answers (PostgreSQL pings, Redis connection state). */
  dependencies: () => Promise<Record<string, boolean>>;
}

const REVOCATION_EVENTS: Partial<Record<AuditEventType, string>> = {
  token_revoked: 'access_token',
  session_revoked: 'session',
  logout: 'logout',
  user_sessions_revoked: 'user',
};

/**
 * The service's Prometheus metrics, in a registry of its own (no global state): HTTP traffic,
 * token issuance and errors, security events, and gauges read when scraped.
 */
export function createMetrics(probes: MetricsProbes) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const httpRequests = new Histogram({
    name: 'token_issuer_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const tokensIssued = new Counter({
    name: 'token_issuer_tokens_issued_total',
    help: 'Successful token responses by grant type',
    labelNames: ['grant_type'] as const,
    registers: [registry],
  });
  const tokenErrors = new Counter({
    name: 'token_issuer_token_errors_total',
    help: 'Token endpoint error responses by OAuth error code',
    labelNames: ['error'] as const,
    registers: [registry],
  });
  const refreshReuse = new Counter({
    name: 'token_issuer_refresh_token_reuse_detected_total',
    help: 'Spent refresh tokens presented again (each revoked a session)',
    registers: [registry],
  });
  const loginThrottled = new Counter({
    name: 'token_issuer_login_throttled_total',
    help: 'Sign-ins refused with 429 because of too many failures for the account or the client IP',
    registers: [registry],
  });
  const localCounting = new Counter({
    name: 'token_issuer_throttle_local_fallback_total',
    help: 'Attempts counted in this instance because Redis could not count them (sign-in throttle and rate limits stay per instance meanwhile)',
    registers: [registry],
  });
  const dependencyRefusals = new Counter({
    name: 'token_issuer_dependency_refusals_total',
    help: 'Requests answered 503 because a dependency was unavailable, by dependency',
    labelNames: ['dependency'] as const,
    registers: [registry],
  });
  const rowsPruned = new Counter({
    name: 'token_issuer_rows_pruned_total',
    help: 'Rows deleted by the retention job, by table',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'token_issuer_rate_limited_total',
    help: 'Requests refused with 429 by a per-IP rate limit, by endpoint: signup, password_forgot, introspect',
    labelNames: ['endpoint'] as const,
    registers: [registry],
  });
  const feedStreams = new Gauge({
    name: 'token_issuer_revocation_feed_streams',
    help: 'Revocation-feed streams (/revocations/stream) this instance serves now (REVOCATION_FEED_MAX_CONNECTIONS at most)',
    registers: [registry],
  });
  new Gauge({
    name: 'token_issuer_revocation_feed_lag_seconds',
    help: 'Seconds since this instance last read the revocation record for its feed streams (about 0.25 while it works; 0 with no stream)',
    registers: [registry],
    collect() {
      this.set(probes.revocationFeedLag?.() ?? 0);
    },
  });
  const feedEntriesSent = new Counter({
    name: 'token_issuer_revocation_feed_entries_sent_total',
    help: 'Revoked token ids and cut-offs sent on revocation-feed streams (once per stream)',
    registers: [registry],
  });
  const revocations = new Counter({
    name: 'token_issuer_revocations_total',
    help: 'Revocations by kind: access_token, session, logout, user',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'token_issuer_denylist_entries',
    help: 'Revoked access tokens not yet expired, in this instance’s copy of the denylist',
    registers: [registry],
    collect() {
      this.set(probes.denylist.size());
    },
  });
  new Gauge({
    name: 'token_issuer_denylist_staleness_seconds',
    help: 'Seconds since this instance’s denylist copy was last known complete (0 while subscribed)',
    registers: [registry],
    collect() {
      this.set(Math.min(probes.denylist.staleness(), 1e9));
    },
  });
  new Gauge({
    name: 'token_issuer_password_hash_queue_depth',
    help: 'Password hashes waiting for a slot',
    registers: [registry],
    collect() {
      this.set(probes.passwordHashQueueDepth());
    },
  });
  new Gauge({
    name: 'token_issuer_signing_key_age_seconds',
    help: 'Seconds since the current signing key began signing',
    registers: [registry],
    collect() {
      this.set((Date.now() - probes.signingKeyActivatedAt()) / 1000);
    },
  });
  new Gauge({
    name: 'token_issuer_signing_key_next_rotation_timestamp_seconds',
    help: 'When the scheduled rotation (KEY_ROTATION_INTERVAL) makes the next signing keys, Unix time; 0 without a schedule',
    registers: [registry],
    collect() {
      this.set((probes.nextKeyRotationAt?.() ?? 0) / 1000);
    },
  });
  if (probes.databasePool) {
    const pool = probes.databasePool;
    new Gauge({
      name: 'token_issuer_database_pool_size',
      help: 'Connections this instance may open to PostgreSQL',
      registers: [registry],
      collect() {
        this.set(pool.size);
      },
    });
    new Gauge({
      name: 'token_issuer_database_pool_in_use',
      help: 'Statements, transactions and reserved connections in progress; above the pool size the rest wait for a connection',
      registers: [registry],
      collect() {
        this.set(pool.inUse());
      },
    });
  }
  new Gauge({
    name: 'token_issuer_dependency_up',
    help: 'Whether a dependency answers: database, redis',
    labelNames: ['dependency'] as const,
    registers: [registry],
    async collect() {
      for (const [dependency, up] of Object.entries(await probes.dependencies())) this.set({ dependency }, up ? 1 : 0);
    },
  });

  return {
    registry,
    httpRequests,
    tokensIssued,
    tokenErrors,
    loginThrottled,
    localCounting,
    rowsPruned,
    rateLimited,
    feedStreams,
    feedEntriesSent,
    dependencyRefusals,
    /** For AuditSink.onAuditEvent: counts reuse detections and revocations. */
    onAuditEvent(type: AuditEventType) {
      if (type === 'refresh_token_reuse_detected') refreshReuse.inc();
      const kind = REVOCATION_EVENTS[type];
      if (kind) revocations.inc({ kind });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
