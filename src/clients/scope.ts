/**
 * Scope syntax and rules, RFC 6749 §3.3: a space-delimited list of scope-tokens, each of
 * %x21 / %x23-5B / %x5D-7E (printable ASCII except space, double quote and backslash).
 */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/** Splits a scope parameter; returns undefined when any token is malformed. Order kept, no repeats. */
export function parseScope(value: string): string[] | undefined {
  const tokens = value.split(' ').filter((token) => token !== '');
  if (!tokens.every(isScopeToken)) return undefined;
  return [...new Set(tokens)];
}
