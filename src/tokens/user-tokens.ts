import { acrOf, tokenAuthentication } from '../factors/authentication-methods.js';
import type { SigningAlgorithm } from '../keys/signing-key.js';
import { epochSeconds, mintAccessToken, type TokenSigner } from './access-token.js';
import { mintIdToken } from './id-token.js';
import { userTokenAudience } from './issuer-resources.js';
import { mintRefreshToken } from './refresh-token.js';
import { userClaimsFor } from './user-claims.js';

/** Everything that goes into the tokens a user gets in one response. */
export interface UserTokenSet {
  user: { id: string; username: string; email: string; fullName: string | null; roles: string[] };
  clientId: string;
  /** The session (refresh-token family), when there is one: the `sid` claim. */
  sessionId?: string;
  audience: string[];
  authTime: Date;
  /** How the user authenticated (RFC 8176); `acr` follows from it. */
  amr: string[];
  issuedAt: Date;
  accessJti: string;
  accessScope: string[];
  refresh?: { jti: string; expiresAt: Date; scope: string[] };
  /** The authorization request's nonce, into the id token of the code exchange only. */
  nonce?: string | undefined;
  /** The client's id_token_signed_response_alg. */
  idTokenAlgorithm?: SigningAlgorithm | null;
}

/** RFC 6749 §5.1 response, plus `id_token` (OpenID Connect Core §3.1.3.3). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
  /** RFC 8693 §2.2.1: what a token exchange issued. */
  issued_token_type?: string;
}

/**
 * Signs the access token, the refresh token and, for `openid`, the id token of one response. The
 * same set gives the same tokens (the same claims and ids; byte for byte with RS256 and EdDSA, and
 * the refresh token always, its key being Ed25519),
 * which is how a retry within the reuse grace window gets the very pair it lost.
 */
export async function mintUserTokens(signer: TokenSigner, set: UserTokenSet): Promise<TokenResponse> {
  const userClaims = userClaimsFor(set.user, set.accessScope);
  // OpenID Connect Front-Channel Logout §3: `sid` names the session, so logout can end it.
  const session = set.sessionId ? { sid: set.sessionId } : {};
  // RFC 9068 §2.2.1 and OpenID Connect Core §2: how and when the user authenticated, so a resource
  // server can require a second factor or a recent sign-in.
  const { amr, idp } = tokenAuthentication(set.amr);
  const authentication = { auth_time: epochSeconds(set.authTime), amr, acr: acrOf(amr), ...(idp ? { idp } : {}) };
  const access = await mintAccessToken(
    signer,
    {
      subject: set.user.id,
      clientId: set.clientId,
      audience: userTokenAudience(signer.issuer, set.audience, set.accessScope),
      scope: set.accessScope,
      extra: { roles: set.user.roles, ...session, ...authentication, ...userClaims },
    },
    { jti: set.accessJti, issuedAt: set.issuedAt },
  );
  const response: TokenResponse = { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn };
  if (set.accessScope.length > 0) response.scope = set.accessScope.join(' ');
  if (set.refresh) {
    response.refresh_token = await mintRefreshToken(signer, {
      jti: set.refresh.jti,
      subject: set.user.id,
      clientId: set.clientId,
      scope: set.refresh.scope,
      issuedAt: set.issuedAt,
      expiresAt: set.refresh.expiresAt,
    });
  }
  if (set.accessScope.includes('openid')) {
    response.id_token = await mintIdToken(signer, {
      subject: set.user.id,
      clientId: set.clientId,
      authTime: set.authTime,
      issuedAt: set.issuedAt,
      userClaims: {
        ...session,
        amr,
        acr: authentication.acr,
        ...(idp ? { idp } : {}),
        ...(set.nonce ? { nonce: set.nonce } : {}),
        ...userClaims,
      },
      algorithm: set.idTokenAlgorithm,
    });
  }
  return response;
}
