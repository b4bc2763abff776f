import { decodeProtectedHeader, type JWTPayload } from 'jose';
import type { KeyRing } from '../keys/key-ring.js';
import { ACCESS_TOKEN_TYP } from './access-token.js';
import { REFRESH_TOKEN_TYP } from './refresh-token.js';
import { TokenRejectedError, verifyOwnToken } from './verify-own-token.js';

export interface OwnToken {
  kind: 'access_token' | 'refresh_token';
  /** The signing key's id, from the protected header. */
  kid?: string;
  claims: JWTPayload & { jti: string; exp: number; iat: number; sub: string; client_id: string };
}

/**
 * Tells which of our tokens this is, by its `typ`, and verifies it as that kind. Anything else —
 * garbage, expired, tampered, signed by a key we do not have, an id token — is `undefined`.
 */
export async function identifyOwnToken(keyRing: KeyRing, issuer: string, token: string): Promise<OwnToken | undefined> {
  let typ: unknown;
  let kid: unknown;
  try {
    ({ typ, kid } = decodeProtectedHeader(token));
  } catch {
    return undefined;
  }
  const kind = typ === ACCESS_TOKEN_TYP ? 'access_token' : typ === REFRESH_TOKEN_TYP ? 'refresh_token' : undefined;
  if (!kind) return undefined;
  try {
    const claims = await verifyOwnToken(
      keyRing,
      { issuer, typ: typ as string, ...(kind === 'refresh_token' ? { audience: issuer } : {}) },
      token,
    );
    if (typeof claims.jti !== 'string' || typeof claims.client_id !== 'string') return undefined;
    return { kind, claims: claims as OwnToken['claims'], ...(typeof kid === 'string' ? { kid } : {}) };
  } catch (error) {
    if (error instanceof TokenRejectedError) return undefined;
    throw error;
  }
}

/** A token about a user, not a client acting for itself (whose `sub` is its own client_id). */
export function isUserToken(claims: OwnToken['claims']): boolean {
  return claims.sub !== claims.client_id;
}
