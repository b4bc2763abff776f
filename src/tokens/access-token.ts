import { randomBytes } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { KeyRing } from '../keys/key-ring.js';
import type { Signer } from '../keys/signer.js';
import { signCompactJws } from './jws.js';

/** RFC 9068 §2.1: the media type of JWT access tokens, in the `typ` header. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

export interface TokenSigner {
  issuer: string;
  keyRing: KeyRing;
  accessTokenTtlSeconds: number;
  now: () => Date;
  /**
   * When a token of this subject and client issued now says it was issued: now, or the second
   * after the latest cut-off covering it. Cut-offs are inclusive to the second, so without this a
   * token issued just after "log out everywhere" or a password change, in the same second, would be
   * refused for its whole life.
   */
  issuedAt(token: { sub: string; client_id: string }): Date;
}

/** `now`, or the start of the second after `cutoff` when that is later. */
export function issuedAfter(now: Date, cutoff: number | undefined): Date {
  return cutoff === undefined || epochSeconds(now) > cutoff ? now : new Date((cutoff + 1) * 1000);
}

export interface AccessTokenClaims {
  subject: string;
  clientId: string;
  audience: string[];
  scope: string[];
  /** More claims, e.g. roles and profile claims for a user. */
  extra?: Record<string, unknown>;
  /**
   * The latest `exp` allowed (epoch seconds): a token made from another token or a key never
   * outlives it (RFC 8693 §2.1 leaves the lifetime to the server; shorter is never an escalation).
   */
  expiresNoLaterThan?: number;
}

/** What makes a token unique; fixed when a token must be issued again identically. */
export interface TokenIdentity {
  jti: string;
  issuedAt: Date;
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

export const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** Signs an RFC 9068 access token with the current key. */
export async function mintAccessToken(
  signer: TokenSigner,
  claims: AccessTokenClaims,
  identity: TokenIdentity = { jti: newTokenId(), issuedAt: signer.issuedAt({ sub: claims.subject, client_id: claims.clientId }) },
): Promise<MintedToken> {
  const issuedAt = epochSeconds(identity.issuedAt);
  const expiresAt = Math.min(issuedAt + signer.accessTokenTtlSeconds, claims.expiresNoLaterThan ?? Number.POSITIVE_INFINITY);
  const payload: JWTPayload = { client_id: claims.clientId, ...claims.extra };
  if (claims.scope.length > 0) payload.scope = claims.scope.join(' ');
  const token = await signJwt(signer, ACCESS_TOKEN_TYP, payload, {
    subject: claims.subject,
    // RFC 9068 §2.2 allows a string or an array; one audience stays a plain string.
    audience: claims.audience.length === 1 ? claims.audience[0]! : claims.audience,
    issuedAt,
    expiresAt,
    jti: identity.jti,
  });
  return { token, jti: identity.jti, expiresAt, expiresIn: expiresAt - issuedAt };
}

/**
 * The one place tokens are signed: with the current key (by default the published one that signs
 * access and id tokens) and its algorithm, `kid` in the header. RS256 and EdDSA signatures are
 * deterministic, so the same claims give the same token; PS256 and ES256 ones differ each time.
 */
export function signJwt(
  signer: TokenSigner,
  typ: string,
  payload: JWTPayload,
  registered: { subject: string; audience: string | string[]; issuedAt: number; expiresAt: number; jti?: string },
  key: Signer = signer.keyRing.current(),
): Promise<string> {
  return signCompactJws(
    key,
    { typ },
    {
      ...payload,
      iss: signer.issuer,
      sub: registered.subject,
      aud: registered.audience,
      iat: registered.issuedAt,
      exp: registered.expiresAt,
      ...(registered.jti ? { jti: registered.jti } : {}),
    },
  );
}
