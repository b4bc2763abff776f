import { open, seal } from './sealed-box.js';
import { localSigner, type Signer } from './signer.js';
import { generateSigningKey, type PublicJwk, type SigningAlgorithm } from './signing-key.js';

/** A new key as the backend made it: what is published, and what the backend needs to sign with it later. */
export interface BackendKey {
  kid: string;
  publicJwk: PublicJwk;
  /** Stored in the key row's `private_key_sealed`: the sealed private key here, a key reference for a KMS. */
  privateKeySealed: string;
}

/**
 * Where private keys live. Rotation and the key ring (keys/key-store.ts, keys/key-ring.ts) call it
 * and nothing else touches a private key; docs/keys.md says how to add a KMS backend.
 */
export interface KeyBackend {
  generate(algorithm: SigningAlgorithm): Promise<BackendKey>;
  signer(row: { kid: string; algorithm: SigningAlgorithm; privateKeySealed: string }): Promise<Signer>;
}

/** The built-in backend: keys generated here, kept in the database sealed under KEY_ENCRYPTION_KEY. */
export function sealedKeyBackend(keyEncryptionKey: Buffer, modulusLength: number): KeyBackend {
  return {
    async generate(algorithm) {
      const key = await generateSigningKey(algorithm, modulusLength);
      // The kid is bound to the sealed key (additional data), so a sealed key copied onto another row fails to open.
      return { kid: key.kid, publicJwk: key.publicJwk, privateKeySealed: seal(JSON.stringify(key.privateJwk), keyEncryptionKey, key.kid) };
    },
    async signer({ kid, algorithm, privateKeySealed }) {
      return localSigner(kid, algorithm, JSON.parse(open(privateKeySealed, keyEncryptionKey, kid)) as Record<string, string>);
    },
  };
}
