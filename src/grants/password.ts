import { invalidGrant, invalidRequest } from '../errors.js';
import { startSession } from '../sessions/refresh-sessions.js';
import { newTokenId } from '../tokens/access-token.js';
import { mintUserTokens } from '../tokens/user-tokens.js';
import { scopesAllowedForRoles } from '../users/roles.js';
import { findUserByLogin, upgradePasswordHash } from '../users/user-store.js';
import type { Grant } from './grant.js';
import { resolveRequestedAudience } from './requested-audience.js';
import { resolveRequestedScope } from './requested-scope.js';

/** One answer for an unknown user, a wrong password and a disabled account: no enumeration. */
const INVALID_CREDENTIALS = 'the username or password is incorrect';

/** Longer than any username or email we store; longer input is not looked up. */
const MAX_LOGIN_LENGTH = 254;

/**
 * RFC 6749 §4.3, for first-party clients registered for it (RFC 9700 §2.4 discourages it, so it is
 * opt-in per client). Clients also registered for `refresh_token` get a refresh token.
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

    // Throttled before any hashing: a blocked attacker costs nothing (429, the same for every account).
    await deps.loginThrottle.check(login, request.ipAddress);
    const user = login.length <= MAX_LOGIN_LENGTH ? await findUserByLogin(deps.db, login) : undefined;
    // An unknown user still costs one verify, against a dummy hash: no enumeration by timing.
    const matches = await deps.hasher.verify(user?.passwordHash, password);
    if (!user || !matches || !user.isActive) {
      await deps.loginThrottle.failed(login, request.ipAddress);
      throw invalidGrant(INVALID_CREDENTIALS);
    }
    await deps.loginThrottle.succeeded(login);
    // What was asked, what the client allows, and what the user's roles allow.
    const scope = scopesAllowedForRoles(requestedScope, user.roles);

    if (deps.hasher.needsRehash(user.passwordHash)) {
      await upgradePasswordHash(deps.db, user.id, await deps.hasher.hash(password)).catch((error: unknown) => {
        deps.logger.warn({ err: error, userId: user.id }, 'could not upgrade a password hash; will retry at next login');
      });
    }

    if (client.grantTypes.includes('refresh_token')) {
      return startSession(deps, { user, client, scope, audience, request });
    }
    const now = deps.signer.now();
    return mintUserTokens(deps.signer, {
      user,
      clientId: client.id,
      audience,
      authTime: now,
      issuedAt: now,
      accessJti: newTokenId(),
      accessScope: scope,
    });
  },
};
