import type { ClientAssertionVerifiers } from '../clients/client-assertion.js';
import type { ClientDirectory } from '../clients/client-directory.js';
import type { Client } from '../clients/client-registry.js';
import type { RequestContext, SessionDependencies } from '../sessions/refresh-sessions.js';
import type { TokenParams } from '../request-parameters.js';
import type { TokenResponse } from '../tokens/user-tokens.js';
import type { LoginThrottle } from '../throttle/login-throttle.js';
import type { PasswordHasher } from '../users/password-hasher.js';
import type { IpBudget } from '../throttle/ip-budget.js';

export type { TokenResponse };

export interface GrantDependencies extends SessionDependencies {
  clients: ClientDirectory;
  /** private_key_jwt and federated client authentication (clients/client-assertion.ts). */
  assertions: ClientAssertionVerifiers;
  hasher: PasswordHasher;
  loginThrottle: LoginThrottle;
  /** MFA_REQUIRED: the password grant, which cannot ask for a second factor, is refused (factors/mfa-policy.ts). */
  mfaRequired: boolean;
  tokenExchange: {
    /** TOKEN_EXCHANGE_MAX_CHAIN: how many actors a token's `act` chain may name. */
    maxChain: number;
    /** Refused API keys, per client address: past the limit a 429, and no audit row. */
    apiKeyRefusals: IpBudget;
  };
}

/** One grant type: the token route looks it up by `grant_type` and hands it the authenticated client. */
export interface Grant {
  grantType: string;
  /**
   * The handler of a request that carries its own credential instead of client authentication
   * (an API key at token exchange); undefined for a request that needs an authenticated client.
   */
  withoutClient?(params: TokenParams): ((deps: GrantDependencies, request: RequestContext) => Promise<TokenResponse>) | undefined;
  handle(params: TokenParams, client: Client, deps: GrantDependencies, request: RequestContext): Promise<TokenResponse>;
}
