import { invalidRequest } from '../errors.js';
import { startSession } from '../sessions/refresh-sessions.js';
import { scopesAllowedForRoles } from '../users/roles.js';
import { signInWithPassword } from '../users/sign-in.js';
import type { Grant } from './grant.js';
import { resolveRequestedAudience } from '../clients/requested-audience.js';
import { resolveRequestedScope } from '../clients/requested-scope.js';

/**
 * RFC 6749 §4.3, for first-party clients registered for it (RFC 9700 §2.4 discourages it, so it is
 * opt-in per client). Every sign-in starts a session; clients also registered for `refresh_token`
 * get a refresh token.
 */
export const passwordGrant: Grant = {
  grantType: 'password',
  async handle(params, client, deps, request) {
    const login = params.get('username');
    const password = params.get('password');
    if (!login || !password) throw invalidRequest('the username and password parameters are required');
    // Cheap checks first: a bad request costs no password hash and changes nothing.
    const requestedScope = resolveRequestedScope(params.get('scope'), client.scopes);
    const audience = resolveRequestedAudience(params.getAll('resource'), client.audiences);

    const user = await signInWithPassword(deps, { login, password, clientId: client.id, ipAddress: request.ipAddress });
    // What was asked, what the client allows, and what the user's roles allow.
    const scope = scopesAllowedForRoles(requestedScope, user.roles);
    return startSession(deps, { user, client, scope, audience, request });
  },
};
