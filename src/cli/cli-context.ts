import type { Logger } from 'pino';
import { loadConfig, type Config } from '../config.js';
import { openDatabase, type Database } from '../db/database.js';
import { createLogger } from '../logger.js';

export interface CliContext {
  config: Config;
  db: Database;
  logger: Logger;
}

/**
 * Runs one command against the same configuration and database the server uses, with migrations
 * applied. Logs go to stderr so that stdout carries only the command's JSON.
 */
export async function withDatabase<T>(run: (context: CliContext) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr);
  const database = await openDatabase(config);
  try {
    await database.migrate();
    return await run({ config, db: database.db, logger });
  } finally {
    await database.close();
  }
}
