/**
 * RFC 6749 §5.1, RFC 6750 §5.2: an answer that carries a token, a secret, an account or an error is
 * stored by no cache. Every such answer of the API uses this one header set.
 */
export const NO_STORE: Readonly<Record<string, string>> = Object.freeze({ 'Cache-Control': 'no-store' });
