import { mintAccessToken } from '../tokens/access-token.js';
import type { Grant } from './grant.js';
import { resolveRequestedAudience } from '../clients/requested-audience.js';
import { resolveRequestedScope } from '../clients/requested-scope.js';

/** RFC 6749 §4.4: a client acting on its own behalf; the token's subject is the client itself. */
export const clientCredentialsGrant: Grant = {
  grantType: 'client_credentials',
  async handle(params, client, { signer }) {
    const scope = resolveRequestedScope(params.get('scope'), client.scopes);
    const audience = resolveRequestedAudience(params.getAll('resource'), client.audiences);
    const minted = await mintAccessToken(signer, { subject: client.id, clientId: client.id, audience, scope });
    // RFC 6749 §4.4.3: no refresh token for this grant.
    return {
      access_token: minted.token,
      token_type: 'Bearer',
      expires_in: minted.expiresIn,
      ...(scope.length > 0 ? { scope: scope.join(' ') } : {}),
    };
  },
};
