import type { Client } from '../clients/client-store.js';
import type { Database } from '../db/database.js';
import type { TokenSigner } from '../tokens/access-token.js';

/** Token request parameters after the form was parsed and checked for repeats. */
export interface TokenParams {
  get(name: string): string | undefined;
  getAll(name: string): string[];
}

export interface GrantDependencies {
  db: Database;
  signer: TokenSigner;
}

/** RFC 6749 §5.1 successful response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
}

/** One grant type: the token route looks it up by `grant_type` and hands it the authenticated client. */
export interface Grant {
  grantType: string;
  handle(params: TokenParams, client: Client, deps: GrantDependencies): Promise<TokenResponse>;
}
