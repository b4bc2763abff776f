import { parseArgs } from 'node:util';
import { keyPolicyFrom, keyRetentionSeconds, listAllKeys, rotateKey } from '../keys/key-store.js';
import type { SigningKeyRow } from '../db/schema.js';
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
        return (await listAllKeys(db)).map((key) => ({
          kid: key.kid,
          algorithm: key.algorithm,
          status: keyStatus(key, now, retentionMs),
          created_at: key.createdAt.toISOString(),
          activates_at: key.activatesAt.toISOString(),
          retired_at: key.retiredAt?.toISOString() ?? null,
        }));
      });
    case 'rotate':
      return withDatabase(async ({ config, db, logger }) => {
        const key = await rotateKey(db, keyPolicyFrom(config, resolveKeyEncryptionKey(config, logger)));
        return {
          kid: key.kid,
          algorithm: key.algorithm,
          status: keyStatus(key, Date.now(), 0),
          created_at: key.createdAt.toISOString(),
          activates_at: key.activatesAt.toISOString(),
        };
      });
    default:
      throw new UsageError(`unknown keys action: ${action ?? '(none)'}`);
  }
}

/** pending: published, not signing yet; current: signing; retired: still verifying; expired: neither. */
function keyStatus(key: SigningKeyRow, now: number, retentionMs: number): string {
  if (key.activatesAt.getTime() > now) return 'pending';
  if (key.retiredAt === null || key.retiredAt.getTime() > now) return 'current';
  return now - key.retiredAt.getTime() < retentionMs ? 'retired' : 'expired';
}
