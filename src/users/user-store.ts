import { and, arrayContains, asc, eq, ilike, ne, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { afterCursor, cursorTime, pageOf, type Page, type PageRequest } from '../db/keyset-page.js';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import { preparedPerDatabase } from '../db/prepared.js';
import { isUniqueViolation } from '../db/query-error.js';
import { users, type UserRow } from '../db/schema.js';
import { accountTaken } from '../errors.js';
import { KNOWN_ROLES } from './roles.js';

export const newUserSchema = z.object({
  username: z.string().regex(/^[A-Za-z0-9_.-]{3,64}$/, 'a username is 3 to 64 of the characters A-Z a-z 0-9 _ . -'),
  email: z
    .email('the email address is not valid')
    .max(254)
    .transform((email) => email.toLowerCase()),
  fullName: z.string().trim().min(1).max(200).optional(),
  roles: z
    .array(z.enum(KNOWN_ROLES, { error: `roles are ${KNOWN_ROLES.join(', ')}` }))
    .min(1)
    .default(['user']),
});

export type NewUser = z.infer<typeof newUserSchema>;

/** A user as everything outside this folder sees it: never the password hash. */
export type User = Omit<UserRow, 'passwordHash'>;

export function withoutPasswordHash({ passwordHash: _, ...user }: UserRow): User {
  return user;
}

export async function insertUser(db: Database, input: NewUser, passwordHash: string): Promise<User> {
  try {
    const [row] = await db
      .insert(users)
      .values({ ...input, roles: [...new Set(input.roles)], passwordHash })
      .returning();
    return withoutPasswordHash(row!);
  } catch (error) {
    if (isUniqueViolation(error)) throw accountTaken();
    throw error;
  }
}

/**
 * A login as typed, in the one form lookups and throttling use: NFKC (so full-width and other
 * compatibility forms fold to ASCII) and lower-case, as usernames and emails are unique regardless
 * of case (RFC 8265 §3.3's width and case mapping).
 */
export function normalizeLogin(login: string): string {
  return login.normalize('NFKC').toLowerCase();
}

/** By username (any case or width) or, when it holds an @, by email. */
export async function findUserByLogin(db: Database, login: string): Promise<UserRow | undefined> {
  const normalized = normalizeLogin(login);
  const statement = normalized.includes('@') ? userByEmail(db) : userByUsername(db);
  const [row] = await statement.execute({ login: normalized });
  return row;
}

// Every password grant looks a user up: built once (see db/prepared.ts).
const userByEmail = preparedPerDatabase((db) =>
  db
    .select()
    .from(users)
    .where(eq(users.email, sql.placeholder('login')))
    .prepare('user_by_email'),
);
const userByUsername = preparedPerDatabase((db) =>
  db
    .select()
    .from(users)
    .where(eq(sql`lower(${users.username})`, sql.placeholder('login')))
    .prepare('user_by_username'),
);

export async function findUserById(db: Database, id: string): Promise<UserRow | undefined> {
  if (!z.uuid().safeParse(id).success) return undefined;
  const [row] = await db.select().from(users).where(eq(users.id, id));
  return row;
}

export async function listUsers(db: Database): Promise<User[]> {
  return (await db.select().from(users).orderBy(asc(users.createdAt))).map(withoutPasswordHash);
}

export async function countUsers(db: Database): Promise<number> {
  const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(users);
  return row?.count ?? 0;
}

/** A new password: sessions that began before it stop refreshing (see refresh grant). */
export async function setUserPassword(db: Database, userId: string, passwordHash: string): Promise<User> {
  const [row] = await db
    .update(users)
    .set({ passwordHash, passwordChangedAt: sql`now()`, updatedAt: sql`now()` })
    .where(eq(users.id, userId))
    .returning();
  return withoutPasswordHash(row!);
}

/** The same password under stronger parameters: not a password change. */
export async function upgradePasswordHash(db: Database, userId: string, passwordHash: string): Promise<void> {
  await db.update(users).set({ passwordHash }).where(eq(users.id, userId));
}

export interface UserChanges {
  email?: string;
  fullName?: string | null;
  roles?: string[];
  isActive?: boolean;
}

/** Updates the given fields; a taken email is 409, a missing user undefined. */
export async function updateUser(db: Database, id: string, changes: UserChanges): Promise<User | undefined> {
  try {
    const [row] = await db
      .update(users)
      .set({
        ...changes,
        ...(changes.email === undefined ? {} : { email: changes.email.toLowerCase() }),
        ...(changes.roles === undefined ? {} : { roles: [...new Set(changes.roles)] }),
        updatedAt: sql`now()`,
      })
      .where(eq(users.id, id))
      .returning();
    return row && withoutPasswordHash(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw accountTaken();
    throw error;
  }
}

/**
 * The SQL form of signInStands (sign-in-standing.ts), for a statement that has the user's row in
 * scope: the user is active and has not changed their password since `signedInAt`.
 */
export const signInStandsSql = (signedInAt: AnyColumn | SQL) => sql`${users.isActive} and ${users.passwordChangedAt} <= ${signedInAt}`;

/** Serializes changes that could leave no active admin (transaction-scoped advisory lock). */
const LAST_ADMIN_LOCK_KEY = 7_383_411_920;

/**
 * Whether an active admin other than `userId` exists, read under a lock held until the caller's
 * transaction ends, so that two admins demoting each other at once cannot both see the other.
 */
export async function otherActiveAdminExists(tx: Database, userId: string): Promise<boolean> {
  await tx.execute(sql`select pg_advisory_xact_lock(${LAST_ADMIN_LOCK_KEY})`);
  const [other] = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.isActive, true), arrayContains(users.roles, ['admin']), ne(users.id, userId)))
    .limit(1);
  return other !== undefined;
}

export async function deleteUser(db: Database, id: string): Promise<boolean> {
  const deleted = await db.delete(users).where(eq(users.id, id)).returning({ id: users.id });
  return deleted.length > 0;
}

export interface UserFilter {
  /** Part of the username, any case. */
  username?: string;
  /** Part of the email address, any case. */
  email?: string;
  role?: string;
  isActive?: boolean;
}

/** Users in the order they were created, a page at a time. */
export async function listUsersPage(db: Database, filter: UserFilter, page: PageRequest): Promise<Page<User>> {
  const contains = (text: string) => `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
  const rows = await db
    .select({ user: users, cursorAt: cursorTime(users.createdAt) })
    .from(users)
    .where(
      and(
        filter.username === undefined ? undefined : ilike(users.username, contains(filter.username)),
        filter.email === undefined ? undefined : ilike(users.email, contains(filter.email)),
        filter.role === undefined ? undefined : arrayContains(users.roles, [filter.role]),
        filter.isActive === undefined ? undefined : eq(users.isActive, filter.isActive),
        afterCursor(users.createdAt, users.id, page.cursor, 'asc'),
      ),
    )
    .orderBy(asc(users.createdAt), asc(users.id))
    .limit(page.limit + 1);
  return pageOf(
    rows,
    page.limit,
    (row) => row.user.id,
    (row) => withoutPasswordHash(row.user),
  );
}
