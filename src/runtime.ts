import type { Logger } from 'pino';
import { createMemoryReplayCache, createRedisReplayCache } from './clients/replay-cache.js';
import type { AppDependencies } from './app.js';
import { runCli } from './cli/run.js';
import { adminContextOf } from './composition.js';
import { openControlChannel } from './cli/control-channel.js';
import { cachedClientDirectory, CLIENT_CHANGES_CHANNEL } from './clients/client-directory.js';
import { listClientsPage } from './clients/client-registry.js';
import type { Config } from './config.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import type { DenylistMirror } from './denylist/denylist.js';
import { createMemoryDenylist } from './denylist/memory-denylist.js';
import { closeRedis, connectRedis, describeRedisTarget, traceRedisCommands, untilReady } from './denylist/redis-connection.js';
import { RedisUnavailableAtStart } from './startup-failure.js';
import { createRedisDenylist } from './denylist/redis-denylist.js';
import type { ReadinessCheck } from './http/routes/health-routes.js';
import { resolveKeyEncryptionKey } from './keys/key-encryption-key.js';
import { createKeyRing } from './keys/key-ring.js';
import { startKeyRotationSchedule } from './keys/key-schedule.js';
import { createOutageLog } from './outage-log.js';
import { KEY_CHANGES_CHANNEL, keyPolicyFrom } from './keys/key-store.js';
import { mailerFrom } from './mail/mailer.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { schedulePruning } from './retention/prune.js';
import { createDenylistRefiller, followRevocationsInDatabase, refillDenylist } from './revocation/denylist-sync.js';
import { createRevocationFeed } from './revocation/revocation-feed.js';
import { createMemoryWindowCounter, createRedisWindowCounter, withLocalFallback } from './throttle/window-counter.js';
import { accountDependenciesFrom, bootstrapAdmin } from './users/accounts.js';

/** Without Redis, how often new revocations are read from the database. */
const DATABASE_REVOCATION_POLL_MS = 2000;
/** At most this long for a client copy if a change notice were ever missed (they are not, normally). */
const CLIENT_CACHE_TTL_MS = 10_000;
/** How long the server waits for Redis as it starts before it says it cannot reach it. */
const REDIS_START_TIMEOUT_MS = 5_000;
/** One-minute windows for the per-IP rate limits. */
const RATE_WINDOW_SECONDS = 60;

/**
 * Everything the server holds open while it runs. Each resource registers how it closes as it is
 * opened; `close()` runs those in reverse order, so nothing is closed while something opened after
 * it still uses it.
 */
export interface Runtime {
  /** The app's one dependency object (see app.ts). */
  app: AppDependencies;
  database: DatabaseHandle;
  metrics: Metrics;
  close(): Promise<void>;
}

/** Closers run last-in first-out; one that fails is logged and the rest still run. */
class Closers {
  private readonly closers: { name: string; close: () => unknown }[] = [];

  constructor(private readonly logger: Logger) {}

  add(name: string, close: () => unknown): void {
    this.closers.push({ name, close });
  }

  async closeAll(): Promise<void> {
    for (const { name, close } of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        this.logger.warn({ err: error, resource: name }, 'could not close cleanly');
      }
    }
  }
}

/**
 * Opens the database (and migrates it), Redis, the denylist, the key ring, the client cache, the
 * mailer and the background jobs. If one of them fails to open, those already open are closed before
 * the error goes on.
 */
export async function openRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const closers = new Closers(logger);
  try {
    return await open(config, logger, closers);
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}

async function open(config: Config, logger: Logger, closers: Closers): Promise<Runtime> {
  if (!config.databaseUrl) {
    logger.warn(
      { dataDir: config.dataDir },
      'single-instance mode: embedded PGlite database and in-process state; set DATABASE_URL and REDIS_URL to run several instances',
    );
  }
  const keyEncryptionKey = resolveKeyEncryptionKey(config, logger);
  const database = await openDatabase(config);
  closers.add('database', () => database.close());
  await database.migrate();

  const revocation = { db: database.db, logger, denylist: createMemoryDenylist(), accessTokenTtlSeconds: config.accessTokenTtlSeconds };
  // The denylist is filled from PostgreSQL whenever it may have missed something: with Redis, each
  // time the connection becomes ready (at first and after every outage, as a restarted Redis comes
  // back empty), retried until it succeeds; without, at start (the CLI may have revoked while this
  // process was stopped) and then by following the table.
  const refiller = createDenylistRefiller(revocation);
  const redis = config.redis ? connectRedis(config.redis, logger, () => refiller.request()) : undefined;
  if (redis) closers.add('redis', () => closeRedis(redis));
  if (redis && config.tracing) traceRedisCommands(redis);
  if (redis && config.redis) {
    await untilReady(redis, REDIS_START_TIMEOUT_MS).catch((error: Error) => {
      throw new RedisUnavailableAtStart(describeRedisTarget(config.redis!), error.message);
    });
  }
  closers.add('denylist refill', () => refiller.stop());
  if (redis) {
    revocation.denylist = createRedisDenylist({ redis, keyPrefix: config.redisKeyPrefix, logger });
    closers.add('denylist', () => revocation.denylist.close());
  } else {
    await refillDenylist(revocation);
    closers.add('revocation follower', followRevocationsInDatabase(revocation, DATABASE_REVOCATION_POLL_MS));
  }

  const keyPolicy = keyPolicyFrom(config, keyEncryptionKey);
  const keyRing = await createKeyRing({
    db: database.db,
    policy: keyPolicy,
    logger,
    refreshIntervalSeconds: config.keysRefreshIntervalSeconds,
  });
  closers.add('key ring', () => keyRing.stop());
  const keySchedule =
    config.keyRotationIntervalSeconds > 0
      ? startKeyRotationSchedule({
          db: database.db,
          policy: keyPolicy,
          intervalSeconds: config.keyRotationIntervalSeconds,
          onRotated: () => keyRing.refresh(),
          logger,
        })
      : undefined;
  if (keySchedule) {
    closers.add('key rotation schedule', () => keySchedule.stop());
    void keySchedule
      .check()
      .catch((error: unknown) => logger.warn({ err: error }, 'could not check the key rotation schedule; will retry'));
  }
  // Every key change is announced by the database (drizzle/0012), so a rotation or a revocation made
  // anywhere (another instance, the CLI) takes effect here within moments; the interval is the
  // fallback. A reconnected listener reloads too, for what it may have missed.
  const reloadKeys = () =>
    void keyRing.refresh().catch((error: unknown) => logger.warn({ err: error }, 'could not reload signing keys; will retry'));
  closers.add('key change notices', await database.listen(KEY_CHANGES_CHANNEL, reloadKeys, reloadKeys));

  const accounts = accountDependenciesFrom(config, database.db);
  if (config.bootstrapAdmin) {
    const admin = await bootstrapAdmin(accounts, { logger }, config.bootstrapAdmin);
    if (admin) logger.info({ userId: admin.id, username: admin.username }, 'created the bootstrap admin');
  }

  // This instance's own copy of the denylist, for its metrics; opened in the background so that a
  // Redis outage at start-up does not hold the server back.
  let denylistCopy: DenylistMirror | undefined;
  void revocation.denylist.mirror().then((copy) => (denylistCopy = copy));
  closers.add('denylist copy', () => denylistCopy?.close());
  const revocationFeed = createRevocationFeed({ db: database.db });
  const metrics = createMetrics({
    revocationFeedLag: revocationFeed.lagSeconds,
    denylist: { size: () => denylistCopy?.size() ?? 0, staleness: () => denylistCopy?.staleness() ?? Number.POSITIVE_INFINITY },
    passwordHashQueueDepth: accounts.hasher.queueDepth,
    signingKeyActivatedAt: () => keyRing.current().activatesAt,
    nextKeyRotationAt: () => keySchedule?.nextRotationAt(),
    databasePool: database.pool,
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
  closers.add(
    'client change notices',
    await database.listen(
      CLIENT_CHANGES_CHANNEL,
      (id) => clients.forget(id),
      () => clients.forget(),
    ),
  );

  const mailer = mailerFrom(config, logger);
  if (!config.mail.smtpUrl) logger.info('no SMTP_URL: password reset emails are written to this log instead of sent');
  closers.add('mailer', () => mailer.close());
  const background = new Set<Promise<void>>();
  // Mail already promised to a caller goes out before the mailer closes.
  closers.add('background work', () => Promise.allSettled([...background]));

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

  closers.add(
    'pruning',
    schedulePruning(database.db, config.retention, config.retention.intervalSeconds, {
      pruned(counts) {
        for (const [table, rows] of Object.entries(counts)) metrics.rowsPruned.inc({ table }, rows);
        if (Object.values(counts).some((rows) => rows > 0)) logger.info({ pruned: counts }, 'retention: old rows deleted');
      },
      failed: (error) => logger.warn({ err: error }, 'retention: could not prune; will try again'),
    }),
  );

  if (!config.databaseUrl) {
    // The CLI beside the embedded server: the database is this process's, so commands come here.
    const context = adminContextOf({ config, db: database.db, logger, denylist: revocation.denylist, keyRing, via: 'the running server' });
    const channel = await openControlChannel(config.dataDir, (request) => {
      logger.info({ command: request.argv.slice(0, 2).join(' ') }, 'cli command through the control channel');
      return runCli(request.argv, { readStdin: async () => request.stdin, warn: () => {} }, (run) => run(context));
    });
    closers.add('control channel', () => channel.close());
  }
  await hintAtFirstRun(database, config, logger);
  const outages = createOutageLog({
    logger,
    probes: {
      database: () => database.ping().then(() => true),
      ...(redis ? { redis: async () => redis.status === 'ready' } : {}),
    },
    onRefused: (dependency) => metrics.dependencyRefusals.inc({ dependency }),
  });
  closers.add('outage log', () => outages.stop());

  return {
    app: {
      config,
      db: database.db,
      keyRing,
      keyEncryptionKey,
      hasher: accounts.hasher,
      denylist: revocation.denylist,
      failureCounter: windowCounter(config.redisKeyPrefix, config.loginThrottle.windowSeconds),
      clients,
      rateCounter: windowCounter(`${config.redisKeyPrefix}rate:`, RATE_WINDOW_SECONDS),
      assertionReplays: redis ? createRedisReplayCache(redis, config.redisKeyPrefix) : createMemoryReplayCache(),
      mailer,
      background,
      logger,
      outages,
      readinessChecks: readinessChecks(database, redis, revocation.denylist),
      lifecycle: { draining: false },
      metrics,
      serveMetrics: config.metricsPort === undefined,
      revocationFeed,
    },
    database,
    metrics,
    close: () => closers.closeAll(),
  };
}

/** On a database with no client yet, says once what to run next (see the README's quick start). */
async function hintAtFirstRun(database: DatabaseHandle, config: Config, logger: Logger): Promise<void> {
  const { items } = await listClientsPage(database.db, { limit: 1 });
  if (items.length > 0) return;
  logger.info(
    {
      next: [
        'node bin/token-issuer.js clients create --name my-service --grants client_credentials --scopes "items:read" --audiences https://api.example.com',
        'node bin/token-issuer.js users create --username admin --email admin@example.com --roles admin,user --password-stdin',
      ],
    },
    'first run: no client is registered yet; create one (and an admin) from another terminal while this server runs',
  );
}

function readinessChecks(
  database: DatabaseHandle,
  redis: ReturnType<typeof connectRedis> | undefined,
  denylist: AppDependencies['denylist'],
): ReadinessCheck[] {
  const checks: ReadinessCheck[] = [{ name: 'database', check: database.ping }];
  if (redis) {
    checks.push({ name: 'redis', check: async () => void (await redis.ping()) });
    // Not ready while the denylist is being refilled: introspection would answer 503 meanwhile.
    checks.push({
      name: 'denylist',
      check: async () => {
        if (!(await denylist.isComplete())) throw new Error('the denylist is being refilled');
      },
    });
  }
  return checks;
}
