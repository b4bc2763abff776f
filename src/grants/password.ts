import { invalidGrant, invalidRequest } from '../errors.js';
import { passwordGrantAllowed } from '../factors/mfa-policy.js';
import { hasSecondFactor } from '../factors/second-factors.js';
import { startSession } from '../sessions/refresh-sessions.js';
import { scopesAllowedForRoles } from '../users/roles.js';
import { signInWithPassword } from '../users/sign-in.js';
import type { Grant } from './grant.js';
import { resolveRequestedAudience } from '../clients/requested-audience.js';
import { resolveRequestedScope } from '../clients/requested-scope.js';

/**
 * RFC 6749 §4.3, for first-party clients registered for it (RFC 9700 §2.4 discourages it, so it is
 * opt-in per client). Every sign-in starts a session; clients also registered for `refresh_token`
 * get a refresh token. It cannot ask for a second factor, so it is refused where one is called for
 * (factors/mfa-policy.ts), unless the client was registered to sign in with a password alone.
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

    const user = await signInWithPassword(deps, {
      login,
      password,
      clientId: client.id,
      ipAddress: request.ipAddress,
      // Asked only once the password is right, so the answer tells a guesser nothing.
      refusal: async (signedIn) =>
        (await passwordGrantAllowed(client, deps.mfaRequired, () => hasSecondFactor(deps.db, signedIn.id)))
          ? undefined
          : invalidGrant('this sign-in needs a second factor, which the password grant cannot ask for: use the authorization code flow'),
    });
    // What was asked, what the client allows, and what the user's roles allow.
    const scope = scopesAllowedForRoles(requestedScope, user.roles);
    return startSession(deps, { user, client, scope, audience, request });
  },
};
