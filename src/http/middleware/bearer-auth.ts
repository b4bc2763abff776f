import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { ClientDirectory } from '../../clients/client-directory.js';
import type { Database } from '../../db/database.js';
import type { Denylist } from '../../denylist/denylist.js';
import {
  bearerTokenRequired,
  DependencyUnavailableError,
  insufficientRole,
  insufficientScope,
  invalidBearerRequest,
  invalidToken,
} from '../../errors.js';
import type { KeyRing } from '../../keys/key-ring.js';
import { ACCOUNT_SCOPE, endpointUrl, REVOCATIONS_READ_SCOPE } from '../../tokens/issuer-resources.js';
import { activeUser } from '../../users/user-directory.js';
import { createVerifier, VerificationError } from '@token-issuer/verifier';
import type { AppEnv, Caller } from '../app-env.js';
import { mediaTypeOf, readForm } from '../form.js';

export interface BearerAuthOptions {
  db: Database;
  /** The client a token was issued to must still exist: deleting a client ends its tokens here. */
  clients: ClientDirectory;
  keyRing: KeyRing;
  denylist: Denylist;
  issuer: string;
}

/** Who made a request to a protected endpoint. */
export type { Caller } from '../app-env.js';

/** The protected endpoints of the issuer, each a middleware on the one bearer path below. */
export interface BearerGuards {
  /** A user's own access token for this issuer, the user active: ends only what the token's own client holds (/logout). */
  user(): MiddlewareHandler<AppEnv>;
  /** The user's account API (/me*): a user's token for this issuer with the `account` scope. */
  account(): MiddlewareHandler<AppEnv>;
  /**
   * Scope `admin`, and for a user's token the role `admin` as the user has it now; a client's own
   * token (client_credentials) with scope `admin` may administer, for automation.
   */
  admin(): MiddlewareHandler<AppEnv>;
  /**
   * OpenID Connect Core §5.3: a user's token with scope `openid`, for this issuer or its /userinfo
   * (issuer-resources.ts), in the header or (RFC 6750 §2.2) the form body.
   */
  userInfo(): MiddlewareHandler<AppEnv>;
  /** RFC 7662 §2.1: a token allowed to introspect (scope `introspect`), a user's or a client's. */
  introspector(): MiddlewareHandler<AppEnv>;
  /** The revocation feed: a client's own token (client_credentials) with scope `revocations:read`. */
  revocationReader(): MiddlewareHandler<AppEnv>;
  /**
   * The account page (/account): the same checks as `account()`, on the access token the page
   * keeps in its own HttpOnly cookie (it is the issuer's own client, account-client.ts).
   */
  accountPage(cookieName: string): MiddlewareHandler<AppEnv>;
}

/**
 * The one bearer path of the issuer. Every protected endpoint verifies with the verifier library
 * shipped to downstream services (RFC 9068: algorithm, `typ`, `iss`, `aud` containing the issuer,
 * `exp`, `iat`; the authoritative denylist), then checks what only the issuer knows: the client
 * still exists, the user still exists and is active, and roles are read from the user now.
 */
export function bearerGuards(options: BearerAuthOptions): BearerGuards {
  const verifierFor = (audience: string[]) =>
    createVerifier({
      issuer: options.issuer,
      audience,
      keySet: () => options.keyRing.verificationKeys(),
      revocations: options.denylist,
    });
  const forIssuer = verifierFor([options.issuer]);
  const forUserInfo = verifierFor([options.issuer, endpointUrl(options.issuer, '/userinfo')]);

  async function authenticate(c: Context<AppEnv>, need: Need): Promise<void> {
    const verifier = need.userInfo ? forUserInfo : forIssuer;
    const token = need.cookie ? (getCookie(c, need.cookie) ?? '') : await presentedToken(c, need.userInfo ?? false);
    if (need.cookie && token === '') throw bearerTokenRequired();
    const principal = await verifier.verify(token).catch((error: unknown) => {
      throw refusal(error, need.userInfo ?? false);
    });
    const client = await options.clients.find(principal.clientId);
    if (!client) throw invalidToken('the access token belongs to a client that no longer exists');
    c.set('client', client);
    // RFC 9068 §2.2: a client acting for itself has its own client_id as `sub`.
    const isClient = principal.sub === principal.clientId;
    if (!isClient && need.machine) {
      throw insufficientScope(
        need.scope!,
        `this endpoint needs a client's own access token (client_credentials) with the ${need.scope} scope`,
      );
    }
    if (isClient && need.user) {
      if (need.scope) throw insufficientScope(need.scope, `this endpoint needs a user's access token with the ${need.scope} scope`);
      throw invalidToken('the access token does not belong to an active user');
    }
    if (need.scope && !principal.scope.includes(need.scope)) throw insufficientScope(need.scope);
    if (isClient) {
      c.set('caller', { kind: 'client', id: principal.clientId, principal });
    } else {
      const user = await activeUser(options.db, principal.sub);
      if (!user) throw invalidToken('the access token does not belong to an active user');
      if (need.role && !user.roles.includes(need.role)) throw insufficientRole(need.role);
      c.set('caller', { kind: 'user', id: user.id, principal });
      c.set('user', user);
    }
    c.set('principal', principal);
    c.set('accessToken', principal.claims);
  }

  const guard = (need: Need): MiddlewareHandler<AppEnv> =>
    async function requireBearer(c, next) {
      await authenticate(c, need);
      await next();
    };

  return {
    user: () => guard({ user: true }),
    account: () => guard({ user: true, scope: ACCOUNT_SCOPE }),
    admin: () => guard({ user: false, scope: 'admin', role: 'admin' }),
    userInfo: () => guard({ user: true, scope: 'openid', userInfo: true }),
    introspector: () => guard({ user: false, scope: 'introspect' }),
    revocationReader: () => guard({ user: false, machine: true, scope: REVOCATIONS_READ_SCOPE }),
    accountPage: (cookie) => guard({ user: true, scope: ACCOUNT_SCOPE, cookie }),
  };
}

/** What a protected endpoint needs of a token beyond the common checks. */
interface Need {
  /** A user's token, not a client's own. */
  user: boolean;
  /** A client's own token, not a user's. */
  machine?: boolean;
  scope?: string;
  role?: 'admin';
  /** /userinfo: its own audience too, and the token may come in the form body (RFC 6750 §2.2). */
  userInfo?: boolean;
  /** The token is in this cookie, not the Authorization header (the account page). */
  cookie?: string;
}

/** RFC 6750 §2.1 (Authorization header) and, where allowed, §2.2 (form body); never the URL (§2.3). */
async function presentedToken(c: Context<AppEnv>, formBody: boolean): Promise<string> {
  const header = c.req.header('Authorization');
  const inBody =
    formBody && c.req.method === 'POST' && mediaTypeOf(c) === 'application/x-www-form-urlencoded'
      ? (await readForm(c)).get('access_token')
      : undefined;
  if (header !== undefined && inBody !== undefined)
    throw invalidBearerRequest('send the access token in one place, not in both the header and the body');
  if (inBody !== undefined) return inBody;
  if (header === undefined) throw bearerTokenRequired();
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match) throw invalidBearerRequest('the Authorization header must be "Bearer <access token>"');
  return match[1]!;
}

function refusal(error: unknown, userInfo: boolean): Error {
  if (!(error instanceof VerificationError)) return error instanceof Error ? error : new Error(String(error));
  if (error.code === 'revoked') return invalidToken('the access token has been revoked');
  if (error.code === 'invalid_token') {
    if (error.reason === 'claim_aud')
      return invalidToken(
        userInfo
          ? 'the access token is not for this issuer: its audience must contain the issuer URL or its /userinfo URL'
          : 'the access token is not for this issuer: its audience must contain the issuer URL',
      );
    return invalidToken('the access token is invalid or expired');
  }
  return new DependencyUnavailableError(error.code === 'jwks_unavailable' ? 'signing keys' : 'denylist', { cause: error });
}

/** How audit events name the one who acted. */
export function actorOf(caller: Caller): string {
  return `${caller.kind}:${caller.id}`;
}
