import { parseScope } from '../clients/scope.js';
import { invalidGrant, invalidRequest } from '../errors.js';
import { rotateSession } from '../sessions/refresh-sessions.js';
import { REFRESH_TOKEN_TYP } from '../tokens/refresh-token.js';
import { TokenRejectedError, verifyOwnToken } from '../tokens/verify-own-token.js';
import type { Grant } from './grant.js';
import { resolveRequestedScope } from '../clients/requested-scope.js';

/** RFC 6749 §6: exchange a refresh token for a new pair, rotating it (RFC 9700 §4.14.2). */
export const refreshTokenGrant: Grant = {
  grantType: 'refresh_token',
  async handle(params, client, deps, request) {
    const token = params.get('refresh_token');
    if (!token) throw invalidRequest('the refresh_token parameter is required');
    const { issuer, keyRing } = deps.signer;
    const claims = await verifyOwnToken(keyRing, { issuer, typ: REFRESH_TOKEN_TYP, audience: issuer }, token).catch((error: unknown) => {
      if (error instanceof TokenRejectedError) throw invalidGrant('the refresh token is invalid, expired or revoked');
      throw error;
    });
    // Bound to the client it was issued to (RFC 9700 §4.14.2).
    if (claims.client_id !== client.id || typeof claims.jti !== 'string') {
      throw invalidGrant('the refresh token was not issued to this client');
    }
    // The scope may narrow, never widen beyond what was granted (RFC 6749 §6).
    const granted = parseScope(typeof claims.scope === 'string' ? claims.scope : '') ?? [];
    const accessScope = resolveRequestedScope(params.get('scope'), granted);
    return rotateSession(deps, { jti: claims.jti, subject: String(claims.sub), client, accessScope, request });
  },
};
