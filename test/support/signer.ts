import type { KeyRing } from '../../src/keys/key-ring.js';
import type { TokenSigner } from '../../src/tokens/access-token.js';

/** The issuer's signer, for minting tokens directly; its clock `offsetMs` away from now. */
export function testSigner(keyRing: KeyRing, issuer: string, options: { ttlSeconds?: number; offsetMs?: number } = {}): TokenSigner {
  const now = () => new Date(Date.now() + (options.offsetMs ?? 0));
  return { issuer, keyRing, accessTokenTtlSeconds: options.ttlSeconds ?? 900, now, issuedAt: now };
}
