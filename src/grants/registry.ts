import { authorizationCodeGrant } from './authorization-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import type { Grant } from './grant.js';
import { GRANT_TYPES, TOKEN_EXCHANGE_GRANT, type GrantType } from './grant-types.js';
import { passwordGrant } from './password.js';
import { refreshTokenGrant } from './refresh-token.js';
import { tokenExchangeGrant } from './token-exchange.js';

/** Every grant the token endpoint serves, keyed by `grant_type`: one for each of GRANT_TYPES, checked by the compiler. */
const grants: Record<GrantType, Grant> = {
  authorization_code: authorizationCodeGrant,
  client_credentials: clientCredentialsGrant,
  password: passwordGrant,
  refresh_token: refreshTokenGrant,
  [TOKEN_EXCHANGE_GRANT]: tokenExchangeGrant,
};

export const SUPPORTED_GRANT_TYPES: readonly string[] = GRANT_TYPES;

export function findGrant(grantType: string): Grant | undefined {
  return Object.hasOwn(grants, grantType) ? grants[grantType as GrantType] : undefined;
}
