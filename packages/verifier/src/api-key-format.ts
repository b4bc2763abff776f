import { crc32 } from 'node:zlib';

/**
 * API keys of token-issuer: `tik_`, 43 base62 characters holding 256 random bits, and 6 base62
 * characters of CRC-32 over the two. The prefix lets secret scanners find a leaked key; the checksum
 * lets anyone tell a mistyped or made-up string from a key without asking the issuer.
 */
export const API_KEY_PREFIX = 'tik_';

/** The `subject_token_type` of an API key at the token endpoint (RFC 8693 §3 allows URIs of one's own). */
export const API_KEY_TOKEN_TYPE = 'urn:token-issuer:params:oauth:token-type:api-key';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SECRET_LENGTH = 43; // 62^43 > 2^256
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32
const SHAPE = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${SECRET_LENGTH + CHECKSUM_LENGTH}}$`);

function base62(value: bigint, length: number): string {
  let text = '';
  for (let rest = value; rest > 0n; rest /= 62n) text = BASE62[Number(rest % 62n)]! + text;
  return text.padStart(length, '0');
}

const checksumOf = (body: string) => base62(BigInt(crc32(body)), CHECKSUM_LENGTH);

/** The key for 32 random bytes (the issuer draws them; nothing else needs this). */
export function encodeApiKey(random: Uint8Array): string {
  if (random.length !== 32) throw new TypeError('encodeApiKey: 32 random bytes are needed');
  const body = API_KEY_PREFIX + base62(BigInt(`0x${Buffer.from(random).toString('hex')}`), SECRET_LENGTH);
  return body + checksumOf(body);
}

/** Whether a string has an API key's shape and checksum: refuses typos and inventions with no lookup. */
export function isWellFormedApiKey(value: unknown): value is string {
  if (typeof value !== 'string' || !SHAPE.test(value)) return false;
  const body = value.slice(0, -CHECKSUM_LENGTH);
  return checksumOf(body) === value.slice(-CHECKSUM_LENGTH);
}

/** Whether a presented credential is meant as an API key (then it is never parsed as a JWT). */
export const looksLikeApiKey = (value: string) => value.startsWith(API_KEY_PREFIX);
