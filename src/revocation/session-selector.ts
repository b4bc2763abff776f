import type { Database } from '../db/database.js';

/**
 * Which sessions to end: some families (optionally only a given user's), all of a user's (but
 * perhaps the one in use: a refresh-token family, or a browser session with the families started
 * from it), all of a client's, or every session; the last three optionally only
 * those signed in at or before a moment (incident response), which is then also their cut-off's.
 * Browser sessions (single sign-on) are covered alike, except by a client's: the user signed in to
 * the issuer, not to that client.
 */
export type SessionSelector =
  | { familyIds: string[]; userId?: string }
  | { userId: string; exceptFamilyId?: string; exceptBrowserSessionId?: string; signedInBefore?: Date }
  | { clientId: string; signedInBefore?: Date }
  | { all: true; signedInBefore?: Date };

/**
 * Which sessions to end: fixed, or worked out inside the transaction by a change they depend on
 * (a withdrawn consent: the row is gone, and locked, before its client's sessions are read, so a
 * session started meanwhile is either read here or sees the consent gone).
 */
export type SessionChoice = SessionSelector | ((tx: Database) => Promise<SessionSelector>);
