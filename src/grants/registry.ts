import { authorizationCodeGrant } from './authorization-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import type { Grant } from './grant.js';
import { passwordGrant } from './password.js';
import { refreshTokenGrant } from './refresh-token.js';

/** Every grant the token endpoint serves, keyed by `grant_type`. A new grant is one line here. */
const grants = new Map<string, Grant>(
  [authorizationCodeGrant, clientCredentialsGrant, passwordGrant, refreshTokenGrant].map((grant) => [grant.grantType, grant]),
);

export const SUPPORTED_GRANT_TYPES: readonly string[] = [...grants.keys()];

export function findGrant(grantType: string): Grant | undefined {
  return grants.get(grantType);
}

/** The grant types in `list` this issuer does not serve. */
export function unsupportedGrantTypes(list: readonly string[]): string[] {
  return list.filter((grant) => !grants.has(grant));
}
