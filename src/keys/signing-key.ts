import { calculateJwkThumbprint, type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

export const SIGNING_ALGORITHM = 'RS256';

/** The members of an RSA public JWK we publish: never anything private (RFC 7517 §9.3). */
export type PublicJwk = { kty: 'RSA'; n: string; e: string; kid: string; alg: string; use: 'sig' };

export interface GeneratedKey {
  kid: string;
  publicJwk: PublicJwk;
  privateJwk: JWK;
}

export async function generateSigningKey(modulusLength: number): Promise<GeneratedKey> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { modulusLength, extractable: true });
  const { n, e } = await exportJWK(publicKey);
  if (!n || !e) throw new Error('RSA key export lacks n or e');
  // RFC 7638: the kid is the thumbprint of the required public members.
  const kid = await calculateJwkThumbprint({ kty: 'RSA', n, e }, 'sha256');
  return {
    kid,
    publicJwk: { kty: 'RSA', n, e, kid, alg: SIGNING_ALGORITHM, use: 'sig' },
    privateJwk: await exportJWK(privateKey),
  };
}

export async function importPrivateKey(privateJwk: JWK): Promise<CryptoKey> {
  return (await importJWK(privateJwk, SIGNING_ALGORITHM)) as CryptoKey;
}
