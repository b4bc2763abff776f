import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Client secrets are generated here with 256 bits of entropy and shown once. Such a secret cannot be
 * guessed or brute-forced from its digest, so a fast SHA-256 is the right hash (a slow password hash
 * buys nothing for random 256-bit values and would cost every token request).
 */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

/** The digest of a presented secret, computed once however many stored hashes it is compared with. */
export function presentedSecretDigest(presented: string): Buffer {
  return createHash('sha256').update(presented, 'utf8').digest();
}

/** Constant-time comparison of a presented secret's digest with a stored hash. */
export function digestMatches(presentedDigest: Buffer, storedHash: string): boolean {
  const stored = Buffer.from(storedHash, 'base64url');
  return stored.length === presentedDigest.length && timingSafeEqual(presentedDigest, stored);
}

/** Compared against when the client is unknown, so that case costs the same work. */
export const UNKNOWN_CLIENT_HASH = hashClientSecret(randomBytes(32).toString('base64url'));
