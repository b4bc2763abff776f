import { parseArgs } from 'node:util';
import { keyPolicyFrom, keyRetentionSeconds, revokeKey, rotateKeys } from '../keys/key-store.js';
import { revokeSigningKey } from '../keys/key-revocation.js';
import { rotateSigningKeys } from '../keys/key-rotation.js';
import { cliActor, onePositional } from './arguments.js';
import { describeAllKeys, describeKey } from '../keys/key-description.js';
import { resolveKeyEncryptionKey } from '../keys/key-encryption-key.js';
import type { CommandEnvironment } from './cli-io.js';
import { UsageError } from './usage-error.js';

export const keysUsage = `token-issuer keys list
token-issuer keys rotate
token-issuer keys revoke KID`;

export async function keysCommand(args: string[], cli: CommandEnvironment): Promise<unknown> {
  const [action, ...rest] = args;
  if (action === 'revoke') return revoke(onePositional(rest, 'keys revoke takes one KID'), cli);
  parseArgs({ args: rest, options: {}, strict: true });
  switch (action) {
    case 'list':
      return cli.open(({ config, db }) => describeAllKeys(db, keyRetentionSeconds(config), config.keyRotationIntervalSeconds));
    case 'rotate':
      return cli.open(async (context) => {
        const { config, db, logger, keyRing } = context;
        // Through a running embedded server, its key ring loads the new key at once.
        const rotateKeysHere = () => rotateKeys(db, keyPolicyFrom(config, resolveKeyEncryptionKey(config, logger)));
        const keys = await rotateSigningKeys({ ...context, rotateKeys: keyRing?.rotate ?? rotateKeysHere }, { actor: cliActor() });
        return describeKey(keys.access, 'access', Date.now(), 0);
      });
    default:
      throw new UsageError(`unknown keys action: ${action ?? '(none)'}`);
  }
}

/** A leaked key: out of the JWKS, no longer signing, every token it signed refused (keys/key-revocation.ts). */
function revoke(kid: string, cli: CommandEnvironment) {
  return cli.open(async (context) => {
    const policy = keyPolicyFrom(context.config, resolveKeyEncryptionKey(context.config, context.logger));
    const revoked = await revokeSigningKey(
      {
        ...context,
        revokeKey: (id) => context.keyRing?.revoke(id) ?? revokeKey(context.db, policy, id),
        keysRefreshIntervalSeconds: context.config.keysRefreshIntervalSeconds,
      },
      kid,
      { actor: cliActor() },
      // Run in an emergency: Redis being away too does not stop it (the refill carries it later).
      { deferPush: true },
    );
    return { kid, purpose: revoked.purpose, status: 'revoked', replaced_by: revoked.replacedBy ?? null };
  });
}
