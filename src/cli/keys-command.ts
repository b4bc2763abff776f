import { parseArgs } from 'node:util';
import { keyPolicyFrom, keyRetentionSeconds, listAllKeys, rotateKey } from '../keys/key-store.js';
import { describeKey } from '../keys/key-description.js';
import { resolveKeyEncryptionKey } from '../keys/key-encryption-key.js';
import { withDatabase } from './cli-context.js';
import { UsageError } from './usage-error.js';

export const keysUsage = `token-issuer keys list
token-issuer keys rotate`;

export async function keysCommand(args: string[]): Promise<unknown> {
  const [action, ...rest] = args;
  parseArgs({ args: rest, options: {}, strict: true });
  switch (action) {
    case 'list':
      return withDatabase(async ({ config, db }) => {
        const retentionMs = keyRetentionSeconds(config) * 1000;
        const now = Date.now();
        return (await listAllKeys(db)).map((key) => describeKey(key, now, retentionMs));
      });
    case 'rotate':
      return withDatabase(async ({ config, db, logger }) => {
        const key = await rotateKey(db, keyPolicyFrom(config, resolveKeyEncryptionKey(config, logger)));
        return describeKey(key, Date.now(), 0);
      });
    default:
      throw new UsageError(`unknown keys action: ${action ?? '(none)'}`);
  }
}
