import { createHash, randomBytes } from 'node:crypto';

/**
 * The issuer's opaque one-time values (browser-session cookies, authorization codes, password-reset
 * links): 256 random bits, base64url. The database keeps only their SHA-256, so reading it signs in
 * or resets nobody.
 */
export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

/** How every opaque token is stored and looked up: its SHA-256, base64url. */
export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
