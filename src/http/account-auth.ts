import type { MiddlewareHandler } from 'hono';
import { every } from 'hono/combine';
import type { ClientDirectory } from '../clients/client-directory.js';
import type { Database } from '../db/database.js';
import type { Denylist } from '../denylist/denylist.js';
import { ApiError, invalidToken } from '../errors.js';
import type { KeyRing } from '../keys/key-ring.js';
import { findUserById } from '../users/user-store.js';
import { requireAuth } from '../verifier/hono.js';
import { createVerifier, type Principal } from '../verifier/verifier.js';
import type { AppEnv } from './app-env.js';

export interface AccountAuthOptions {
  db: Database;
  /** The client a token was issued to must still exist: deleting a client ends its tokens here. */
  clients: ClientDirectory;
  keyRing: KeyRing;
  denylist: Denylist;
  issuer: string;
}

/** Who made a request to an account or admin endpoint. */
export type Caller = { kind: 'user'; id: string; principal: Principal } | { kind: 'client'; id: string; principal: Principal };

export interface AccountGuards {
  /** A user's own access token for this issuer (`aud` contains the issuer URL), the user active. */
  user(): MiddlewareHandler<AppEnv>;
  /**
   * Scope `admin`, and for a user's token the role `admin` as the user has it now; a client's own
   * token (client_credentials) with scope `admin` may administer, for automation.
   */
  admin(): MiddlewareHandler<AppEnv>;
}

/** Every role-restricted answer says the same: the caller lacks the role. */
const adminRoleRequired = () => new ApiError(403, 'insufficient_role', 'the caller needs the role admin');

/**
 * The issuer's own account and admin endpoints are a resource server like any other: they verify
 * with the verifier library shipped to downstream services (RFC 9068: `typ`, `iss`, `aud`, `exp`;
 * RFC 6750 §3 answers), with the keys held in memory and the authoritative denylist.
 */
export function accountGuards(options: AccountAuthOptions): AccountGuards {
  const verifier = createVerifier({
    issuer: options.issuer,
    audience: options.issuer,
    keySet: () => options.keyRing.verificationKeys(),
    revocations: options.denylist,
  });
  const realm = 'token-issuer';

  const identifyCaller = (requireUser: boolean): MiddlewareHandler<AppEnv> =>
    async function identifyCaller(c, next) {
      const principal = c.get('principal');
      // Tokens not tied to a session (client_credentials, password without refresh) are not
      // revoked when their client is deleted; they stop working here all the same.
      if (!(await options.clients.find(principal.clientId))) throw invalidToken('the access token belongs to a client that no longer exists');
      // RFC 9068 §2.2: a client acting for itself has its own client_id as `sub`.
      if (principal.sub === principal.clientId && !requireUser) {
        c.set('caller', { kind: 'client', id: principal.clientId, principal });
        return next();
      }
      const user = await findUserById(options.db, principal.sub);
      if (!user || !user.isActive) throw invalidToken('the access token does not belong to an active user');
      c.set('caller', { kind: 'user', id: user.id, principal });
      c.set('accessToken', principal.claims);
      c.set('user', user);
      return next();
    };

  const requireAdminRole: MiddlewareHandler<AppEnv> = async function requireAdminRole(c, next) {
    const caller = c.get('caller');
    if (caller.kind === 'user' && !c.get('user').roles.includes('admin')) throw adminRoleRequired();
    return next();
  };

  // requireAuth is typed for any Hono app that carries a principal; AppEnv does.
  const authenticate = (scopes: string[]) => requireAuth({ verifier, realm, scopes }) as unknown as MiddlewareHandler<AppEnv>;
  return {
    user: () => every(authenticate([]), identifyCaller(true)),
    admin: () => every(authenticate(['admin']), identifyCaller(false), requireAdminRole),
  };
}

/** How audit events name the one who acted. */
export function actorOf(caller: Caller): string {
  return `${caller.kind}:${caller.id}`;
}
