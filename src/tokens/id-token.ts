import { epochSeconds, signJwt, type TokenSigner } from './access-token.js';

export interface IdTokenClaims {
  subject: string;
  clientId: string;
  authTime: Date;
  issuedAt: Date;
  /** Profile and email claims, per scope. */
  userClaims: Record<string, unknown>;
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
  );
}
