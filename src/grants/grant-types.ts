/** RFC 8693 §2.1: the grant type of token exchange. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** Every grant type the token endpoint serves (grants/registry.ts has a handler for each). */
export const GRANT_TYPES = ['authorization_code', 'client_credentials', 'password', 'refresh_token', TOKEN_EXCHANGE_GRANT] as const;

export type GrantType = (typeof GRANT_TYPES)[number];

/** The grant types in `list` this issuer does not serve. */
export function unsupportedGrantTypes(list: readonly string[]): string[] {
  return list.filter((grant) => !(GRANT_TYPES as readonly string[]).includes(grant));
}
