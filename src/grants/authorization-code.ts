import { codeWasReused, findAuthorizationCode, markCodeReused, spendAuthorizationCode } from '../authorization/authorization-code-store.js';
import { verifierMatches } from '../authorization/pkce.js';
import { browserSessionStands } from '../authorization/browser-session-store.js';
import { consentCovers } from '../authorization/consents.js';
import { registrationRefusal } from '../authorization/registration-check.js';
import type { AuthorizationCodeRow } from '../db/schema.js';
import { invalidGrant, invalidRequest } from '../errors.js';
import { startSession, type RequestContext } from '../sessions/refresh-sessions.js';
import { revokeSessions } from '../revocation/ending-sessions.js';
import { scopesAllowedForRoles } from '../users/roles.js';
import { signInStands } from '../users/sign-in-standing.js';
import { findUserById } from '../users/user-store.js';
import type { Grant, GrantDependencies } from './grant.js';

/** One answer for every refusal: nothing tells an attacker which binding failed. */
const INVALID_CODE = 'the authorization code is invalid, expired, already used, or was issued for another request';

/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6): the code is checked against the client, the redirect
 * URI and the verifier, spent exactly once, and exchanged for a session started at the sign-in the
 * code came from. A code presented again ends that session (RFC 6749 §4.1.2). Public clients use
 * it with PKCE alone.
 */
export const authorizationCodeGrant: Grant = {
  grantType: 'authorization_code',
  async handle(params, client, deps, request) {
    const code = params.get('code');
    if (!code) throw invalidRequest('the code parameter is required');
    const now = deps.signer.now();
    const row = await findAuthorizationCode(deps.db, code);
    if (!row || row.clientId !== client.id) throw invalidGrant(INVALID_CODE);
    if (row.usedAt) return refuseReuse(deps, row, request);
    const redirectUri = params.get('redirect_uri');
    const redirectMatches = redirectUri === row.redirectUri || (redirectUri === undefined && !row.redirectUriGiven);
    if (row.expiresAt <= now || !redirectMatches || !pkceMatches(params.get('code_verifier'), row.codeChallenge)) {
      throw invalidGrant(INVALID_CODE);
    }
    if (!(await spendAuthorizationCode(deps.db, row.codeHash, now))) return refuseReuse(deps, row, request);

    const user = await findUserById(deps.db, row.userId);
    const live = user && signInStands(user, row.authTime) && (await browserSessionStands(deps.db, row.browserSessionId, now));
    // RFC 6749 §3.3, RFC 9700 §4.1: what the code was issued for, as the registration and the
    // user's consent stand now; a redirect URI, scope or audience taken away since stops it.
    const stillAllowed = registrationRefusal(client, row) === undefined && (await consentCovers(deps.db, client, row.userId, row.scope));
    if (!user || !live || !stillAllowed) throw invalidGrant(INVALID_CODE);
    const tokens = await startSession(deps, {
      user,
      client,
      scope: scopesAllowedForRoles(row.scope, user.roles),
      audience: row.audience,
      request,
      from: { familyId: row.familyId, authTime: row.authTime, amr: row.amr, browserSessionId: row.browserSessionId, nonce: row.nonce },
    });
    // A second presentation raced this one and lost before this session existed: end it now.
    if (await codeWasReused(deps.db, row.codeHash)) return refuseReuse(deps, row, request);
    // The user withdrew the consent while this session started (authorization/consents.ts): end it.
    if (!(await consentCovers(deps.db, client, row.userId, row.scope, { waitForChanges: true }))) {
      return refuseWithdrawn(deps, row, request);
    }
    return tokens;
  },
};

/**
 * The verifier for the code's challenge; for a code issued without one (a client let off PKCE),
 * no verifier at all: one sent anyway is a PKCE downgrade attempt (RFC 9700 §4.8.2).
 */
function pkceMatches(verifier: string | undefined, challenge: string | null): boolean {
  return challenge === null ? verifier === undefined : verifierMatches(verifier, challenge);
}

async function refuseWithdrawn(deps: GrantDependencies, row: AuthorizationCodeRow, request: RequestContext): Promise<never> {
  await revokeSessions(
    { ...deps, accessTokenTtlSeconds: deps.signer.accessTokenTtlSeconds },
    { familyIds: [row.familyId] },
    { type: 'session_revoked', userId: row.userId, clientId: row.clientId, ipAddress: request.ipAddress, reason: 'consent_withdrawn' },
  );
  throw invalidGrant(INVALID_CODE);
}

async function refuseReuse(deps: GrantDependencies, row: AuthorizationCodeRow, request: RequestContext): Promise<never> {
  await markCodeReused(deps.db, row.codeHash, deps.signer.now());
  await revokeSessions(
    { ...deps, accessTokenTtlSeconds: deps.signer.accessTokenTtlSeconds },
    { familyIds: [row.familyId] },
    {
      type: 'authorization_code_reuse_detected',
      userId: row.userId,
      clientId: row.clientId,
      familyId: row.familyId,
      ipAddress: request.ipAddress,
      reason: 'authorization_code_reuse',
    },
    { alwaysAudit: true },
  );
  throw invalidGrant(INVALID_CODE);
}
