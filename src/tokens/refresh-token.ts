import { epochSeconds, signJwt, type TokenSigner } from './access-token.js';

/**
 * Refresh tokens have their own `typ` and are addressed to the issuer itself, so neither one can
 * pass for an access token at a resource server nor an access token for one here (RFC 8725 §3.11).
 * They are signed with a key that is never published, so even a verifier that checks neither `typ`
 * nor `aud` cannot accept one: no key in the JWKS verifies its signature.
 */
export const REFRESH_TOKEN_TYP = 'rt+jwt';

export interface RefreshTokenClaims {
  jti: string;
  subject: string;
  clientId: string;
  scope: string[];
  issuedAt: Date;
  expiresAt: Date;
}

export function mintRefreshToken(signer: TokenSigner, claims: RefreshTokenClaims): Promise<string> {
  return signJwt(
    signer,
    REFRESH_TOKEN_TYP,
    { client_id: claims.clientId, scope: claims.scope.join(' ') },
    {
      subject: claims.subject,
      audience: signer.issuer,
      issuedAt: epochSeconds(claims.issuedAt),
      expiresAt: epochSeconds(claims.expiresAt),
      jti: claims.jti,
    },
    signer.keyRing.currentRefreshKey(),
  );
}
