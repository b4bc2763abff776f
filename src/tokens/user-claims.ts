/** The user claims a scope releases (OpenID Connect Core §5.4), the same in every token and /userinfo. */
export const USER_CLAIMS = ['preferred_username', 'name', 'email'] as const;

/** Which parts of a user a scope releases (OpenID Connect Core §5.4), wherever the user is shown to a client. */
export function releasedBy(scope: readonly string[]): { profile: boolean; email: boolean } {
  return { profile: scope.includes('profile'), email: scope.includes('email') };
}

export function userClaimsFor(
  user: { username: string; fullName: string | null; email: string },
  scope: readonly string[],
): Record<string, string> {
  const claims: Record<string, string> = {};
  const released = releasedBy(scope);
  if (released.profile) {
    claims.preferred_username = user.username;
    if (user.fullName) claims.name = user.fullName;
  }
  if (released.email) claims.email = user.email;
  return claims;
}
