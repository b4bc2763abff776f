import type { SigningAlgorithm } from '../keys/signing-key.js';
import { epochSeconds, signJwt, type TokenSigner } from './access-token.js';

export interface IdTokenClaims {
  subject: string;
  clientId: string;
  authTime: Date;
  issuedAt: Date;
  /** Profile and email claims, per scope. */
  userClaims: Record<string, unknown>;
  /** The client's id_token_signed_response_alg (OpenID Connect Registration §2); the current key's when null. */
  algorithm?: SigningAlgorithm | null;
}

/** OpenID Connect Core §2: audience is the client; lives as long as an access token. */
export function mintIdToken(signer: TokenSigner, claims: IdTokenClaims): Promise<string> {
  const issuedAt = epochSeconds(claims.issuedAt);
  return signJwt(
    signer,
    'JWT',
    { auth_time: epochSeconds(claims.authTime), ...claims.userClaims },
    {
      subject: claims.subject,
      audience: claims.clientId,
      issuedAt,
      expiresAt: issuedAt + signer.accessTokenTtlSeconds,
    },
    signer.keyRing.current(claims.algorithm ?? undefined),
  );
}
