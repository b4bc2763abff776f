import { constants, createPrivateKey, sign, type JsonWebKey, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import type { SigningAlgorithm } from './signing-key.js';

/**
 * The one way tokens are signed: "sign these bytes with this key". The built-in backend holds the
 * private key in memory (sealed at rest, keys/sealed-box.ts); a KMS or HSM backend implements the
 * same interface with a call to the service (docs/keys.md). Token code never sees a private key.
 */
export interface Signer {
  readonly kid: string;
  readonly algorithm: SigningAlgorithm;
  /** The JWS signature (RFC 7515 §5.1) over `input`, in the JWS encoding for `algorithm` (RFC 7518 §3). */
  sign(input: Buffer): Promise<Buffer>;
}

/** node:crypto's digest and key options for each JWS algorithm (RFC 7518 §3.3-3.5, RFC 8037 §3.1). */
function signingParameters(algorithm: SigningAlgorithm, key: KeyObject): { digest: string | null; key: SignKeyObjectInput } {
  switch (algorithm) {
    case 'RS256':
      return { digest: 'sha256', key: { key } };
    case 'PS256':
      // RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
      return { digest: 'sha256', key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } };
    case 'ES256':
      // RFC 7518 §3.4: R and S concatenated, not DER.
      return { digest: 'sha256', key: { key, dsaEncoding: 'ieee-p1363' } };
    case 'EdDSA':
      return { digest: null, key: { key } };
  }
}

/**
 * The built-in backend's signer: a private key in this process. Signing runs in libuv's thread pool
 * (node:crypto's callback form), as WebCrypto's did, so an RSA signature does not hold the event loop.
 */
export function localSigner(kid: string, algorithm: SigningAlgorithm, privateJwk: JsonWebKey): Signer {
  const { digest, key } = signingParameters(algorithm, createPrivateKey({ key: privateJwk, format: 'jwk' }));
  return {
    kid,
    algorithm,
    sign: (input) =>
      new Promise((resolve, reject) => sign(digest, input, key, (error, signature) => (error ? reject(error) : resolve(signature)))),
  };
}
