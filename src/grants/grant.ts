import type { ClientAssertionVerifiers } from '../clients/client-assertion.js';
import type { ClientDirectory } from '../clients/client-directory.js';
import type { Client } from '../clients/client-registry.js';
import type { RequestContext, SessionDependencies } from '../sessions/refresh-sessions.js';
import type { TokenParams } from '../request-parameters.js';
import type { TokenResponse } from '../tokens/user-tokens.js';
import type { LoginThrottle } from '../throttle/login-throttle.js';
import type { PasswordHasher } from '../users/password-hasher.js';

export type { TokenResponse };

export interface GrantDependencies extends SessionDependencies {
  clients: ClientDirectory;
  /** private_key_jwt and federated client authentication (clients/client-assertion.ts). */
  assertions: ClientAssertionVerifiers;
  hasher: PasswordHasher;
  loginThrottle: LoginThrottle;
  /** MFA_REQUIRED: the password grant, which cannot ask for a second factor, is refused (factors/mfa-policy.ts). */
  mfaRequired: boolean;
}

/** One grant type: the token route looks it up by `grant_type` and hands it the authenticated client. */
export interface Grant {
  grantType: string;
  handle(params: TokenParams, client: Client, deps: GrantDependencies, request: RequestContext): Promise<TokenResponse>;
}
