import { parseArgs } from 'node:util';
import { keyPolicyFrom, keyRetentionSeconds, rotateKeys } from '../keys/key-store.js';
import { describeAllKeys, describeKey } from '../keys/key-description.js';
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
      return withDatabase(({ config, db }) => describeAllKeys(db, keyRetentionSeconds(config)));
    case 'rotate':
      return withDatabase(async ({ config, db, logger }) => {
        const keys = await rotateKeys(db, keyPolicyFrom(config, resolveKeyEncryptionKey(config, logger)));
        return describeKey(keys.access, 'access', Date.now(), 0);
      });
    default:
      throw new UsageError(`unknown keys action: ${action ?? '(none)'}`);
  }
}
