import type { ClientDirectory } from '../clients/client-directory.js';
import type { Database } from '../db/database.js';
import type { Denylist } from '../denylist/denylist.js';
import type { KeyRing } from '../keys/key-ring.js';
import { identifyOwnToken, isUserToken } from '../tokens/identify-own-token.js';
import { findUserById } from '../users/user-store.js';
import { findFamily, findRefreshToken } from './family-store.js';
import { sessionIsLive } from './refresh-sessions.js';

export interface IntrospectionDependencies {
  db: Database;
  /** A token of a client that no longer exists is not active. */
  clients: ClientDirectory;
  keyRing: KeyRing;
  denylist: Denylist;
  issuer: string;
  now: () => Date;
  /** MFA_REQUIRED: a single-factor session's refresh token is not active where it could not refresh. */
  mfaRequired: boolean;
}

/** RFC 7662 §2.2: anything not active is exactly this, with no hint why. */
const INACTIVE = { active: false } as const;

/**
 * RFC 7662 token introspection. An access token is active when it verifies, is not revoked (by its
 * jti or a cut-off), its client still exists and, for a user, the user exists and is active; a refresh token
 * when it verifies, is unspent, and its session lives. When the denylist cannot answer this throws (a 503): never `active: true` for
 * a token that might be revoked.
 */
export async function introspect(deps: IntrospectionDependencies, token: string): Promise<Record<string, unknown>> {
  const found = await identifyOwnToken(deps.keyRing, deps.issuer, token);
  if (!found) return INACTIVE;
  const { claims } = found;

  let username: string | undefined;
  if (found.kind === 'access_token') {
    const sid = typeof claims.sid === 'string' ? claims.sid : undefined;
    if (await deps.denylist.refusal({ ...claims, sid, kid: found.kid })) return INACTIVE;
    if (!(await deps.clients.find(claims.client_id))) return INACTIVE;
    if (isUserToken(claims)) {
      const user = await findUserById(deps.db, claims.sub);
      if (!user?.isActive) return INACTIVE;
      username = user.username;
    }
  } else {
    const row = await findRefreshToken(deps.db, claims.jti);
    const family = row && (await findFamily(deps.db, row.familyId));
    const user = family && (await findUserById(deps.db, family.userId));
    const client = await deps.clients.find(claims.client_id);
    if (!row || row.usedAt || !family || !user || !client || !sessionIsLive(family, user, client, deps.now(), deps.mfaRequired)) {
      return INACTIVE;
    }
    username = user.username;
  }

  return {
    active: true,
    scope: claims.scope,
    client_id: claims.client_id,
    sub: claims.sub,
    ...(username ? { username } : {}),
    token_type: found.kind,
    exp: claims.exp,
    iat: claims.iat,
    nbf: claims.nbf ?? claims.iat,
    aud: claims.aud,
    iss: claims.iss,
    jti: claims.jti,
  };
}
