/** Every role an account can hold. */
export const KNOWN_ROLES = ['admin', 'moderator', 'user'] as const;

/**
 * Scopes that only some roles may hold in a user's token; every other scope is open to every user
 * whose client may ask for it. A client's own (client_credentials) token is not limited by this:
 * its scopes are what its registration allows.
 */
export const ROLE_RESTRICTED_SCOPES: Readonly<Record<string, readonly string[]>> = {
  admin: ['admin'],
};

/** The part of `scopes` a user with `roles` may hold (the rest is dropped, RFC 6749 §3.3). */
export function scopesAllowedForRoles(scopes: readonly string[], roles: readonly string[]): string[] {
  return scopes.filter((scope) => {
    const needed = ROLE_RESTRICTED_SCOPES[scope];
    return needed === undefined || needed.some((role) => roles.includes(role));
  });
}
