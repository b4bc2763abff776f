import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { KeyRing } from '../keys/key-ring.js';
import { SIGNING_ALGORITHM } from '../keys/signing-key.js';

/** RFC 9068 §2.1: the media type of JWT access tokens, in the `typ` header. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

export interface TokenSigner {
  issuer: string;
  keyRing: KeyRing;
  accessTokenTtlSeconds: number;
  now: () => Date;
}

export interface AccessTokenClaims {
  subject: string;
  clientId: string;
  audience: string[];
  scope: string[];
}

export interface MintedToken {
  token: string;
  jti: string;
  expiresAt: number;
  expiresIn: number;
}

/** A new token identifier: 128 random bits (RFC 7519 §4.1.7 asks for negligible collisions). */
export function newTokenId(): string {
  return randomBytes(16).toString('base64url');
}

/** Signs an RFC 9068 access token with the current key. */
export async function mintAccessToken(signer: TokenSigner, claims: AccessTokenClaims): Promise<MintedToken> {
  const { kid, privateKey } = signer.keyRing.current();
  const issuedAt = Math.floor(signer.now().getTime() / 1000);
  const expiresAt = issuedAt + signer.accessTokenTtlSeconds;
  const jti = newTokenId();
  const payload: Record<string, unknown> = { client_id: claims.clientId };
  if (claims.scope.length > 0) payload.scope = claims.scope.join(' ');
  const token = await new SignJWT(payload)
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, typ: ACCESS_TOKEN_TYP, kid })
    .setIssuer(signer.issuer)
    .setSubject(claims.subject)
    // RFC 9068 §2.2 allows a string or an array; one audience stays a plain string.
    .setAudience(claims.audience.length === 1 ? claims.audience[0]! : claims.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(expiresAt)
    .setJti(jti)
    .sign(privateKey);
  return { token, jti, expiresAt, expiresIn: signer.accessTokenTtlSeconds };
}
