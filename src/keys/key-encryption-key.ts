import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';

/**
 * KEY_ENCRYPTION_KEY from the config, or, in the embedded single-instance mode only, one generated
 * once into DATA_DIR (mode 0600). Production and shared PostgreSQL always take it from the
 * environment (config.ts enforces that).
 */
export function resolveKeyEncryptionKey(config: Config, logger: Logger): Buffer {
  if (config.keyEncryptionKey) return config.keyEncryptionKey;
  const path = join(config.dataDir, 'key-encryption-key');
  try {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte base64 key`);
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(32);
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  logger.warn({ path }, 'KEY_ENCRYPTION_KEY is not set: generated one for the embedded database; set KEY_ENCRYPTION_KEY in production');
  return key;
}
