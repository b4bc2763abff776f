import type { Logger } from 'pino';
import { loadConfig, type Config } from '../config.js';
import { openDatabase, type Database } from '../db/database.js';
import { createLogger } from '../logger.js';
import type { Denylist } from '../denylist/denylist.js';
import type { KeyRing } from '../keys/key-ring.js';
import { createMemoryDenylist } from '../denylist/memory-denylist.js';
import { closeRedis, connectRedis } from '../denylist/redis-connection.js';
import { createRedisDenylist } from '../denylist/redis-denylist.js';
import type { RedisClient } from '@token-issuer/verifier';
import { cliIo } from './cli-io.js';

export interface CliContext {
  config: Config;
  db: Database;
  logger: Logger;
  /** The shared denylist with REDIS_URL; otherwise one that keeps nothing, since the embedded
   * server fills its own from PostgreSQL when it starts. */
  denylist: Denylist;
  accessTokenTtlSeconds: number;
  /** The running server's key ring, when it carries the command out: key changes take effect there at once. */
  keyRing?: KeyRing;
}

/**
 * Runs one command against the same configuration and database the server uses, with migrations
 * applied. Logs go to stderr so that stdout carries only the command's JSON. Tests seed their
 * databases through it too, with their own environment.
 */
export async function withDatabase<T>(
  run: (context: CliContext) => Promise<T>,
  environment: Record<string, string | undefined> = process.env,
): Promise<T> {
  // Sent to a running embedded server (cli/control-channel.ts): its database, already open.
  const provided = cliIo().context;
  if (provided) return run(provided);
  const config = loadConfig(environment);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const database = await openDatabase(config);
  const redis = config.redis ? connectRedis(config.redis, logger) : undefined;
  const denylist = redis ? createRedisDenylist({ redis, keyPrefix: config.redisKeyPrefix, logger }) : createMemoryDenylist();
  try {
    if (redis) await waitUntilReady(redis);
    await database.migrate();
    return await run({ config, db: database.db, logger, denylist, accessTokenTtlSeconds: config.accessTokenTtlSeconds });
  } finally {
    await denylist.close();
    if (redis) await closeRedis(redis);
    await database.close();
  }
}

/** A one-shot command gives Redis a few seconds to connect; the revocation is in PostgreSQL anyway. */
function waitUntilReady(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 3000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
