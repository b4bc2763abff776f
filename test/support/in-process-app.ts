import { randomBytes } from 'node:crypto';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createMemoryDenylist } from '../../src/denylist/memory-denylist.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createMemoryFailureCounter } from '../../src/throttle/failure-counter.js';
import { accountDependenciesFrom } from '../../src/users/accounts.js';
import { openInMemoryDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { createKeyRing, type KeyRing } from '../../src/keys/key-ring.js';
import { createLogger } from '../../src/logger.js';
import { createLogMailer } from '../../src/mail/mailer.js';

export interface InProcessApp {
  app: ReturnType<typeof createApp>;
  database: DatabaseHandle;
  keyRing: KeyRing;
  close(): Promise<void>;
}

/**
 * The real app for tests that need no socket (Hono's app.request): on the given database (migrated
 * here), or on an in-memory PGlite.
 */
export async function createInProcessApp(
  options: { issuer?: string; database?: DatabaseHandle; env?: Record<string, string> } = {},
): Promise<InProcessApp> {
  const issuer = options.issuer ?? 'http://issuer.test';
  const database = options.database ?? (await openInMemoryDatabase());
  await database.migrate();
  const logger = createLogger('silent');
  const keyRing = await createKeyRing({
    db: database.db,
    policy: { keyEncryptionKey: randomBytes(32), modulusLength: 2048, retentionSeconds: 3600, activationDelaySeconds: 0 },
    logger,
    refreshIntervalSeconds: 3600,
  });
  const config = loadConfig({ ...options.env, ISSUER: issuer });
  const app = createApp({
    config,
    db: database.db,
    keyRing,
    hasher: accountDependenciesFrom(config, database.db).hasher,
    denylist: createMemoryDenylist(),
    failureCounter: createMemoryFailureCounter(config.loginThrottle.windowSeconds),
    rateCounter: createMemoryFailureCounter(60),
    mailer: createLogMailer(logger),
    background: new Set(),
    logger,
    readinessChecks: [{ name: 'database', check: database.ping }],
    lifecycle: { draining: false },
    metrics: createMetrics({
      denylist: { size: () => 0, staleness: () => 0 },
      passwordHashQueueDepth: () => 0,
      signingKeyActivatedAt: () => keyRing.current().activatesAt,
      dependencies: async () => ({ database: true }),
    }),
    serveMetrics: true,
  });
  return {
    app,
    database,
    keyRing,
    async close() {
      keyRing.stop();
      await database.close();
    },
  };
}
