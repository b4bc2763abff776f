// The issuer is a resource server too: /userinfo (OpenID Connect Core §5.3) and the account API
// (/me*). These are the scopes and audiences that reach them, in one place.

/** OpenID Connect Core §5.4: the standard scopes whose claims this issuer releases. */
export const OPENID_SCOPES = ['openid', 'profile', 'email'] as const;

/**
 * The user's own account API (/me*): their sessions, connected apps, profile and password. A scope
 * like any other, so a third-party app gets it only when the user consents to it; claims still
 * follow `profile` and `email`.
 */
export const ACCOUNT_SCOPE = 'account';

/** The revocation feed (/revocations): what verifiers outside the issuer's network follow. */
export const REVOCATIONS_READ_SCOPE = 'revocations:read';

/** Scopes that grant the issuer's own powers (the admin API, introspection, the feed): registered, never advertised. */
export const INTERNAL_SCOPES: readonly string[] = ['admin', 'introspect', REVOCATIONS_READ_SCOPE];

/** An endpoint of the issuer: its path under the issuer URL. */
export const endpointUrl = (issuer: string, path: `/${string}`) => `${issuer.replace(/\/+$/, '')}${path}`;

/**
 * The audience of a user's access token: the APIs it is for, and the issuer's /userinfo when
 * `openid` is granted, so that the token of any OpenID Connect sign-in reads the user's claims there
 * (and nothing else of the issuer's) without the issuer among the client's audiences, as Auth0 does.
 */
export function userTokenAudience(issuer: string, audience: readonly string[], scope: readonly string[]): string[] {
  const userInfo = endpointUrl(issuer, '/userinfo');
  return scope.includes('openid') && !audience.includes(userInfo) ? [...audience, userInfo] : [...audience];
}
