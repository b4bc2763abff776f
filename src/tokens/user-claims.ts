/** The user claims a scope releases (OpenID Connect Core §5.4), the same in every token and /userinfo. */
export const USER_CLAIMS = ['preferred_username', 'name', 'email'] as const;

export function userClaimsFor(
  user: { username: string; fullName: string | null; email: string },
  scope: readonly string[],
): Record<string, string> {
  const claims: Record<string, string> = {};
  if (scope.includes('profile')) {
    claims.preferred_username = user.username;
    if (user.fullName) claims.name = user.fullName;
  }
  if (scope.includes('email')) claims.email = user.email;
  return claims;
}
