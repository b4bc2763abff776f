import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { createApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Denylist } from '../../src/denylist/denylist.js';
import { createMemoryDenylist } from '../../src/denylist/memory-denylist.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { createMemoryReplayCache } from '../../src/clients/replay-cache.js';
import { createMemoryWindowCounter, type WindowCounter } from '../../src/throttle/window-counter.js';
import { accountDependenciesFrom, type AccountDependencies } from '../../src/users/accounts.js';
import type { PasswordHasher } from '../../src/users/password-hasher.js';
import { openDatabase, openInMemoryDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { adminDatabaseUrl, createTestDatabase } from './test-database.js';
import { createKeyRing, type KeyRing } from '../../src/keys/key-ring.js';
import { keyPolicyFrom } from '../../src/keys/key-store.js';
import type { KeyBackend } from '../../src/keys/key-backend.js';
import { createLogger } from '../../src/logger.js';
import { createLogMailer, type Mailer } from '../../src/mail/mailer.js';
import type { RevocationDependencies } from '../../src/revocation/ending-sessions.js';

export interface InProcessApp {
  app: ReturnType<typeof createApp>;
  config: Config;
  database: DatabaseHandle;
  keyRing: KeyRing;
  denylist: Denylist;
  /** For seeding users through the domain functions, as the CLI and the API do. */
  accounts: AccountDependencies;
  revocation: RevocationDependencies;
  keyEncryptionKey: Buffer;
  close(): Promise<void>;
}

export interface InProcessAppOptions {
  issuer?: string;
  database?: DatabaseHandle;
  env?: Record<string, string>;
  /** Instead of the configured argon2id hasher (e.g. one that counts its verifies). */
  hasher?: (real: PasswordHasher) => PasswordHasher;
  /** Where sign-in attempts and per-IP requests are counted; in-process by default. */
  counters?: { failures: WindowCounter; rate: WindowCounter };
  denylist?: Denylist;
  /** Where the app logs; nowhere by default. */
  logger?: Logger;
  /** The issuer's clock, for what it signs. */
  now?: () => Date;
  /** Where mail goes; the log by default. */
  mailer?: Mailer;
  /** KEY_ENCRYPTION_KEY: a second instance on the same database shares the first one's. */
  keyEncryptionKey?: Buffer;
  /** Where private keys live instead of the built-in sealed keys (a KMS stand-in). */
  keyBackend?: KeyBackend;
}

/**
 * The real app for tests that need no socket (Hono's app.request): on the given database (migrated
 * here), or on an in-memory PGlite. A request can carry a client address as the server would see it:
 * `app.request(path, init, socketFrom('198.51.100.7'))`.
 */
export async function createInProcessApp(options: InProcessAppOptions = {}): Promise<InProcessApp> {
  const issuer = options.issuer ?? 'http://issuer.test';
  const database = options.database ?? (await openInMemoryDatabase());
  await database.migrate();
  const logger = options.logger ?? createLogger('silent');
  const keyEncryptionKey = options.keyEncryptionKey ?? randomBytes(32);
  const config = loadConfig({ ...options.env, ISSUER: issuer });
  const keyRing = await createKeyRing({
    db: database.db,
    policy: {
      ...keyPolicyFrom(config, keyEncryptionKey),
      ...(options.keyBackend ? { backend: options.keyBackend } : {}),
      retentionSeconds: { access: 3600, refresh: 3600 },
      activationDelaySeconds: 0,
    },
    logger,
    refreshIntervalSeconds: 3600,
  });
  const accounts = accountDependenciesFrom(config, database.db);
  if (options.hasher) accounts.hasher = options.hasher(accounts.hasher);
  const denylist = options.denylist ?? createMemoryDenylist();
  const app = createApp({
    config,
    db: database.db,
    keyRing,
    keyEncryptionKey,
    hasher: accounts.hasher,
    denylist,
    failureCounter: options.counters?.failures ?? createMemoryWindowCounter(config.loginThrottle.windowSeconds),
    rateCounter: options.counters?.rate ?? createMemoryWindowCounter(60),
    assertionReplays: createMemoryReplayCache(),
    mailer: options.mailer ?? createLogMailer(logger),
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
    now: options.now,
  });
  return {
    app,
    config,
    database,
    keyRing,
    denylist,
    accounts,
    revocation: { db: database.db, denylist, logger, accessTokenTtlSeconds: config.accessTokenTtlSeconds },
    keyEncryptionKey,
    async close() {
      keyRing.stop();
      await database.close();
    },
  };
}

/** The Node bindings @hono/node-server gives a request, as far as the client address goes. */
export function socketFrom(remoteAddress: string) {
  return { incoming: { socket: { remoteAddress, remotePort: 40000, remoteFamily: remoteAddress.includes(':') ? 'IPv6' : 'IPv4' } } };
}

/** The password grant, in-process, from a client address when one is given. */
export function passwordSignIn(
  harness: InProcessApp,
  client: { id: string; secret?: string | undefined },
  fields: { username: string; password: string; scope?: string },
  ip?: string,
): Response | Promise<Response> {
  const credentials = { client_id: client.id, ...(client.secret ? { client_secret: client.secret } : {}) };
  const init = {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', ...fields, ...credentials }),
  };
  return ip === undefined ? harness.app.request('/token', init) : harness.app.request('/token', init, socketFrom(ip));
}

/**
 * The app on an in-memory PGlite, or on a PostgreSQL database of the test's own (dropped by
 * `close`). Undefined when PostgreSQL is asked for and the suite has none (CI always has it).
 */
export async function createInProcessAppOn(
  onPostgres: boolean,
  options: Omit<InProcessAppOptions, 'database'> = {},
): Promise<InProcessApp | undefined> {
  if (!onPostgres) return createInProcessApp(options);
  if (!adminDatabaseUrl) return undefined;
  const database = await createTestDatabase({ redis: false });
  const harness = await createInProcessApp({ ...options, database: await openDatabase({ databaseUrl: database.url, dataDir: '' }) });
  return {
    ...harness,
    async close() {
      await harness.close();
      await database.drop();
    },
  };
}
