/**
 * Text no input may carry: NUL (PostgreSQL's text cannot hold it, and nothing legitimate sends it)
 * and UTF-16 surrogates that are not in a pair (no Unicode character; they would reach the
 * database as replacement characters, another string than the one sent).
 */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isSafeText(value: string): boolean {
  return !value.includes('\u0000') && !UNPAIRED_SURROGATE.test(value);
}
