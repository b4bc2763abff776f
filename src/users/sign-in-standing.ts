/**
 * A sign-in stands while its user is active and has not changed their password since (OWASP ASVS 5
 * §6.2.3: a changed credential ends the sessions that used the old one). One rule for every kind of
 * session: refresh-token families, browser sessions, and the codes they issue; user-store.ts has
 * its SQL form for the statements that check it in the database.
 */
export function signInStands(user: { isActive: boolean; passwordChangedAt: Date }, signedInAt: Date): boolean {
  return user.isActive && user.passwordChangedAt <= signedInAt;
}
