import { generateKeyPair as generateKeyPairCallback, type JsonWebKey } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';

/**
 * The algorithms the issuer signs with (SIGNING_ALGORITHM): asymmetric only, never HS* or `none`
 * (RFC 8725 §3.1). RS256 is what every verifier understands; PS256 is RSA with PSS padding; ES256
 * (P-256, RFC 7518 §3.4) and EdDSA (Ed25519, RFC 8037) cost a fraction of an RSA signature.
 */
export const SIGNING_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];
export const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm = 'RS256';

export const isSigningAlgorithm = (value: unknown): value is SigningAlgorithm =>
  typeof value === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(value);

/** The members of a public JWK we publish: never anything private (RFC 7517 §9.3). */
export type PublicJwk = { kty: string; kid: string; alg: string; use: 'sig'; n?: string; e?: string; crv?: string; x?: string; y?: string };

/** The public members each key type has (RFC 7638 §3.2 lists the same ones as required). */
const PUBLIC_MEMBERS: Record<string, readonly ('n' | 'e' | 'crv' | 'x' | 'y')[]> = {
  RSA: ['e', 'n'],
  EC: ['crv', 'x', 'y'],
  OKP: ['crv', 'x'],
};

/** Only the public members of a key, whatever else the stored object holds. */
export function publicJwkOf(jwk: Record<string, unknown>): PublicJwk {
  const kty = String(jwk.kty);
  const members = PUBLIC_MEMBERS[kty];
  if (!members) throw new Error(`unknown key type ${kty}`);
  const publicJwk: PublicJwk = { kty, kid: String(jwk.kid), alg: String(jwk.alg), use: 'sig' };
  for (const member of members) publicJwk[member] = String(jwk[member]);
  return publicJwk;
}

export interface GeneratedKey {
  kid: string;
  algorithm: SigningAlgorithm;
  publicJwk: PublicJwk;
  privateJwk: JsonWebKey;
}

const generateKeyPair = promisify(generateKeyPairCallback);

function newKeyPair(algorithm: SigningAlgorithm, modulusLength: number) {
  switch (algorithm) {
    case 'RS256':
    case 'PS256':
      return generateKeyPair('rsa', { modulusLength });
    case 'ES256':
      return generateKeyPair('ec', { namedCurve: 'P-256' });
    case 'EdDSA':
      return generateKeyPair('ed25519', {});
  }
}

/** A new key pair for `algorithm`; `modulusLength` applies to RSA only (SIGNING_KEY_SIZE). */
export async function generateSigningKey(algorithm: SigningAlgorithm, modulusLength: number): Promise<GeneratedKey> {
  const { publicKey, privateKey } = await newKeyPair(algorithm, modulusLength);
  const exported = publicKey.export({ format: 'jwk' });
  // RFC 7638: the kid is the thumbprint of the required public members.
  const kid = await calculateJwkThumbprint(exported as JWK, 'sha256');
  return {
    kid,
    algorithm,
    publicJwk: publicJwkOf({ ...exported, kid, alg: algorithm }),
    privateJwk: privateKey.export({ format: 'jwk' }),
  };
}
