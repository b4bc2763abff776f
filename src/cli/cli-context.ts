import { adminContextOf, type AdminContext } from '../composition.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { createMemoryDenylist } from '../denylist/memory-denylist.js';
import { closeRedis, connectRedis } from '../denylist/redis-connection.js';
import { createRedisDenylist } from '../denylist/redis-denylist.js';
import { createLogger } from '../logger.js';
import type { RedisClient } from '@token-issuer/verifier';
import type { ContextOpener } from './cli-io.js';

/** What a command works on: the admin context (composition.ts). */
export type CliContext = AdminContext;

/**
 * Opens the database (migrated) and Redis the environment names, for one command, and closes them
 * after: the same configuration the server uses. Logs go to stderr so that stdout carries only the
 * command's JSON. Without REDIS_URL the denylist keeps nothing: an embedded server fills its own
 * from PostgreSQL when it starts. Tests seed their databases through it too, with their own
 * environment.
 */
export function openFromEnvironment(
  environment: Record<string, string | undefined> = process.env,
  options: { verbose?: boolean } = {},
): ContextOpener {
  return async (run) => {
    const config = loadConfig(environment);
    // The command's JSON is its answer: its log has warnings and errors, and, with --verbose, the
    // audit events and the rest.
    const logger = options.verbose
      ? createLogger(config.logLevel, process.stderr)
      : createLogger('warn', process.stderr, { withoutAuditEvents: true });
    const database = await openDatabase(config);
    const redis = config.redis ? connectRedis(config.redis, logger) : undefined;
    const denylist = redis ? createRedisDenylist({ redis, keyPrefix: config.redisKeyPrefix, logger }) : createMemoryDenylist();
    try {
      if (redis) await waitUntilReady(redis);
      await database.migrate();
      return await run(
        adminContextOf({ config, db: database.db, logger, denylist, via: config.databaseUrl ? undefined : 'no server running' }),
      );
    } finally {
      await denylist.close();
      if (redis) await closeRedis(redis);
      await database.close();
    }
  };
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
