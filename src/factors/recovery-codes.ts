// Recovery codes: what a user keeps on paper for the day their authenticator is gone.
import { randomInt } from 'node:crypto';
import { hashOpaqueToken } from '../tokens/opaque-token.js';

/** Crockford's base32 alphabet: no i, l, o or u to misread. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const CODES = 10;
const LENGTH = 12;

/** Ten codes of twelve characters (60 random bits each), shown as `xxxxxx-xxxxxx`. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: CODES }, () => {
    const code = Array.from({ length: LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    return `${code.slice(0, 6)}-${code.slice(6)}`;
  });
}

/** A code as typed: any case, with or without the hyphen and spaces, o for 0 and i or l for 1. */
export function normalizeRecoveryCode(typed: string): string | undefined {
  const code = typed.toLowerCase().replace(/[\s-]/g, '').replace(/o/g, '0').replace(/[il]/g, '1');
  return code.length === LENGTH && [...code].every((character) => ALPHABET.includes(character)) ? code : undefined;
}

/**
 * How a code is stored: the SHA-256 of its normalized form. Sixty random bits need no slow hash:
 * guessing online is throttled, and a database reader still lacks the password it goes with.
 */
export const hashRecoveryCode = (normalized: string) => hashOpaqueToken(normalized);
