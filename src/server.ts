import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createApp } from './app.js';
import { cachedClientDirectory, CLIENT_CHANGES_CHANNEL } from './clients/client-directory.js';
import { createLogMailer, createSmtpMailer } from './mail/mailer.js';
import type { DenylistMirror } from './denylist/denylist.js';
import { metricsRoutes } from './http/metrics-routes.js';
import { createMetrics } from './metrics/metrics.js';
import { createMemoryWindowCounter, createRedisWindowCounter, withLocalFallback } from './throttle/window-counter.js';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/database.js';
import { DataDirInUseError } from './db/data-dir-lock.js';
import { ApiError } from './errors.js';
import { createMemoryDenylist } from './denylist/memory-denylist.js';
import { closeRedis, connectRedis } from './denylist/redis-connection.js';
import { createRedisDenylist } from './denylist/redis-denylist.js';
import { createDenylistRefiller, followRevocationsInDatabase, refillDenylist } from './sessions/revocation.js';
import type { Lifecycle, ReadinessCheck } from './http/health-routes.js';
import { createKeyRing } from './keys/key-ring.js';
import { keyPolicyFrom } from './keys/key-store.js';
import { resolveKeyEncryptionKey } from './keys/key-encryption-key.js';
import { createLogger } from './logger.js';
import { schedulePruning } from './retention/prune.js';
import { accountDependenciesFrom, bootstrapAdmin } from './users/accounts.js';

/** How long in-flight requests get to finish after SIGTERM before the process gives up. */
const DRAIN_TIMEOUT_MS = 10_000;
/** Without Redis, how often new revocations are read from the database. */
const DATABASE_REVOCATION_POLL_MS = 2000;

/** The only module that touches `process`: reads the environment, opens the dependencies, serves. */
/** At most this long for a client copy if a change notice were ever missed (they are not, normally). */
const CLIENT_CACHE_TTL_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  if (!config.databaseUrl) {
    logger.warn(
      { dataDir: config.dataDir },
      'single-instance mode: embedded PGlite database and in-process state; set DATABASE_URL and REDIS_URL to run several instances',
    );
  }
  const keyEncryptionKey = resolveKeyEncryptionKey(config, logger);
  const database = await openDatabase(config);
  await database.migrate();
  const revocation = { db: database.db, logger, denylist: createMemoryDenylist() };
  // The denylist is filled from PostgreSQL whenever it may have missed something: with Redis, each
  // time the connection becomes ready (at first and after every outage, as a restarted Redis comes
  // back empty), retried until it succeeds; without, at start (the CLI may have revoked while this
  // process was stopped) and then by following the table.
  const refiller = createDenylistRefiller(revocation);
  const redis = config.redis ? connectRedis(config.redis, logger, () => refiller.request()) : undefined;
  if (redis) revocation.denylist = createRedisDenylist({ redis, keyPrefix: config.redisKeyPrefix, logger });
  else await refillDenylist(revocation);
  const stopFollowing = redis ? () => {} : followRevocationsInDatabase(revocation, DATABASE_REVOCATION_POLL_MS);
  const keyRing = await createKeyRing({
    db: database.db,
    policy: keyPolicyFrom(config, keyEncryptionKey),
    logger,
    refreshIntervalSeconds: config.keysRefreshIntervalSeconds,
  });

  const accounts = accountDependenciesFrom(config, database.db);
  if (config.bootstrapAdmin) {
    const admin = await bootstrapAdmin(accounts, config.bootstrapAdmin);
    if (admin) logger.info({ userId: admin.id, username: admin.username }, 'created the bootstrap admin');
  }

  const readinessChecks: ReadinessCheck[] = [{ name: 'database', check: database.ping }];
  if (redis) {
    readinessChecks.push({ name: 'redis', check: async () => void (await redis.ping()) });
    // Not ready while the denylist is being refilled: introspection would answer 503 meanwhile.
    readinessChecks.push({
      name: 'denylist',
      check: async () => {
        if (!(await revocation.denylist.isComplete())) throw new Error('the denylist is being refilled');
      },
    });
  }
  const lifecycle: Lifecycle = { draining: false };

  // This instance's own copy of the denylist, for its metrics; opened in the background so that a
  // Redis outage at start-up does not hold the server back.
  let denylistCopy: DenylistMirror | undefined;
  void revocation.denylist.mirror().then((copy) => (denylistCopy = copy));
  const metrics = createMetrics({
    denylist: { size: () => denylistCopy?.size() ?? 0, staleness: () => denylistCopy?.staleness() ?? Number.POSITIVE_INFINITY },
    passwordHashQueueDepth: accounts.hasher.queueDepth,
    signingKeyActivatedAt: () => keyRing.current().activatesAt,
    dependencies: async () => ({
      database: await database.ping().then(
        () => true,
        () => false,
      ),
      ...(redis ? { redis: redis.status === 'ready' } : {}),
    }),
  });
  // Clients in memory; the database announces every change (see clients/client-directory.ts).
  const clients = cachedClientDirectory(database.db, { ttlMs: CLIENT_CACHE_TTL_MS, maxEntries: 10_000 });
  const stopWatchingClients = await database.listen(
    CLIENT_CHANGES_CHANNEL,
    (id) => clients.forget(id),
    () => clients.forget(),
  );

  const mailer = config.mail.smtpUrl ? createSmtpMailer(config.mail.smtpUrl, config.mail.from) : createLogMailer(logger);
  if (!config.mail.smtpUrl) logger.info('no SMTP_URL: password reset emails are written to this log instead of sent');
  const background = new Set<Promise<void>>();
  /** One-minute windows for the per-IP rate limits. */
  const RATE_WINDOW_SECONDS = 60;
  // Shared through Redis; while Redis is away, counted in this instance rather than refusing sign-ins.
  let countingLocally = false;
  const onLocalCount = (error: unknown) => {
    metrics.localCounting.inc();
    if (!countingLocally) logger.warn({ err: error }, 'redis unavailable: sign-in throttle and rate limits count in this instance only');
    countingLocally = true;
  };
  redis?.on('ready', () => (countingLocally = false));
  const windowCounter = (prefix: string, windowSeconds: number) =>
    redis
      ? withLocalFallback(createRedisWindowCounter(redis, prefix, windowSeconds), createMemoryWindowCounter(windowSeconds), onLocalCount)
      : createMemoryWindowCounter(windowSeconds);
  const app = createApp({
    config,
    db: database.db,
    keyRing,
    hasher: accounts.hasher,
    denylist: revocation.denylist,
    failureCounter: windowCounter(config.redisKeyPrefix, config.loginThrottle.windowSeconds),
    clients,
    rateCounter: windowCounter(`${config.redisKeyPrefix}rate:`, RATE_WINDOW_SECONDS),
    mailer,
    background,
    logger,
    readinessChecks,
    lifecycle,
    metrics,
    serveMetrics: config.metricsPort === undefined,
  });

  const stopPruning = schedulePruning(database.db, config.retention, config.retention.intervalSeconds, {
    pruned(counts) {
      for (const [table, rows] of Object.entries(counts)) metrics.rowsPruned.inc({ table }, rows);
      if (Object.values(counts).some((rows) => rows > 0)) logger.info({ pruned: counts }, 'retention: old rows deleted');
    },
    failed: (error) => logger.warn({ err: error }, 'retention: could not prune; will try again'),
  });

  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    logger.info({ port: info.port, host: config.host, issuer: config.issuer, database: database.kind }, 'listening');
  });
  // Metrics on a port of their own, so that they need not be public.
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : serve({ fetch: new Hono().route('/', metricsRoutes(metrics)).fetch, port: config.metricsPort, hostname: config.host }, (info) =>
          logger.info({ port: info.port }, 'metrics listening'),
        );

  const shutdown = async (signal: string) => {
    if (lifecycle.draining) return;
    lifecycle.draining = true;
    logger.info({ signal, delaySeconds: config.shutdownDelaySeconds }, 'shutting down: readiness is now 503');
    setTimeout(
      () => {
        logger.error('in-flight requests did not finish in time; exiting');
        process.exit(1);
      },
      config.shutdownDelaySeconds * 1000 + DRAIN_TIMEOUT_MS,
    ).unref();
    // Give load balancers time to see readiness fail before the listener closes.
    await new Promise((resolve) => setTimeout(resolve, config.shutdownDelaySeconds * 1000));
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      if ('closeIdleConnections' in server) server.closeIdleConnections();
    });
    metricsServer?.close();
    // Mail already promised to a caller goes out before the process ends.
    await Promise.allSettled([...background]);
    mailer.close();
    await denylistCopy?.close();
    keyRing.stop();
    refiller.stop();
    stopPruning();
    stopFollowing();
    await stopWatchingClients();
    await revocation.denylist.close();
    if (redis) await closeRedis(redis);
    await database.close();
    logger.info('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void shutdown(signal));
}

function reportStartupFailure(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error('token-issuer: invalid configuration');
    for (const problem of error.problems) console.error(`  ${problem}`);
  } else if (error instanceof DataDirInUseError) {
    console.error(`token-issuer: ${error.message}`);
  } else if (error instanceof ApiError) {
    // e.g. a BOOTSTRAP_ADMIN_PASSWORD that breaks the password policy
    console.error(`token-issuer: ${error.description}`);
  } else {
    createLogger('info').fatal({ err: error }, 'could not start');
  }
  process.exit(1);
}

main().catch((error: unknown) => reportStartupFailure(error));
