import { listLiveBrowserSessions, type BrowserSessionPolicy } from '../authorization/browser-session-store.js';
import type { Database } from '../db/database.js';
import { listLiveSessions } from './family-store.js';

/**
 * Where a user is signed in, for "log out elsewhere": their client sessions that can still be used
 * (refresh-token families), and the browsers signed in at the login page (single sign-on); each
 * newest use first.
 */
export async function signedInPlacesOf(deps: { db: Database; browserSessions: BrowserSessionPolicy }, userId: string, now: Date) {
  const [clients, browsers] = await Promise.all([
    listLiveSessions(deps.db, userId, now),
    listLiveBrowserSessions(deps.db, deps.browserSessions, userId, now),
  ]);
  return { clients, browsers };
}
