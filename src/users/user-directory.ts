import type { Database } from '../db/database.js';
import type { Page, PageRequest } from '../db/keyset-page.js';
import type { UserRow } from '../db/schema.js';
import { findUserById, listUsersPage, withoutPasswordHash, type User, type UserFilter } from './user-store.js';

/**
 * Reading accounts, for the API. A token outlives changes to its user, so whoever acts on one
 * reads the account as it is now (security checklist: "the user still exists and is active, roles
 * read now").
 */
export async function activeUser(db: Database, id: string): Promise<UserRow | undefined> {
  const user = await findUserById(db, id);
  return user?.isActive ? user : undefined;
}

/** One account for the admin API, never with its password hash. */
export async function findAccount(db: Database, id: string): Promise<User | undefined> {
  const user = await findUserById(db, id);
  return user && withoutPasswordHash(user);
}

/** A filtered page of accounts in creation order (keyset pagination). */
export function listAccounts(db: Database, filter: UserFilter, page: PageRequest): Promise<Page<User>> {
  return listUsersPage(db, filter, page);
}
