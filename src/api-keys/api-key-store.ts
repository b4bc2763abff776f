// The api_keys table.
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import { apiKeys, clients, type ApiKeyRow } from '../db/schema.js';

export type NewApiKeyRow = Pick<ApiKeyRow, 'keyHash' | 'name' | 'userId' | 'clientId' | 'scopes' | 'audiences' | 'createdBy' | 'expiresAt'>;

export async function insertApiKey(db: Database, values: NewApiKeyRow): Promise<ApiKeyRow> {
  const [row] = await db.insert(apiKeys).values(values).returning();
  return row!;
}

export async function findApiKeyByHash(db: Database, keyHash: string): Promise<ApiKeyRow | undefined> {
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.keyHash, keyHash));
  return row;
}

/** Ids come from paths: one that is not a UUID names no key (and never reaches SQL). */
export const isApiKeyId = (id: string) => z.uuid().safeParse(id).success;

export async function findApiKey(db: Database, id: string): Promise<ApiKeyRow | undefined> {
  if (!isApiKeyId(id)) return undefined;
  const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id));
  return row;
}

/** A user's keys, a client's, or every key; newest first, revoked ones included. */
export function listApiKeyRows(db: Database, owner: { userId?: string; clientId?: string }): Promise<ApiKeyRow[]> {
  const where =
    owner.userId !== undefined
      ? eq(apiKeys.userId, owner.userId)
      : owner.clientId !== undefined
        ? eq(apiKeys.clientId, owner.clientId)
        : undefined;
  return db.select().from(apiKeys).where(where).orderBy(desc(apiKeys.createdAt)).limit(1000);
}

/** Marks a key revoked once; undefined when it was revoked already (or is not there). */
export async function markApiKeyRevoked(db: Database, id: string, now: Date): Promise<ApiKeyRow | undefined> {
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: now })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning();
  return row;
}

/**
 * Records a use of `key` (as read before it); true when it was the key's first. The first use is
 * one conditional update, so of two parallel first uses only one sees it; later uses are written
 * at most once a minute, so a busy key costs no write per exchange.
 */
export async function recordApiKeyUse(db: Database, key: Pick<ApiKeyRow, 'id' | 'lastUsedAt'>, now: Date): Promise<boolean> {
  if (key.lastUsedAt === null) {
    const first = await db
      .update(apiKeys)
      .set({ lastUsedAt: now })
      .where(and(eq(apiKeys.id, key.id), isNull(apiKeys.lastUsedAt)))
      .returning({ id: apiKeys.id });
    return first.length > 0;
  }
  if (now.getTime() - key.lastUsedAt.getTime() > 60_000) {
    await db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, key.id));
  }
  return false;
}

/** Every audience some client may get tokens for: what a user's key may be for. */
export async function registeredAudiences(db: Database): Promise<string[]> {
  const rows = await db.selectDistinct({ audience: sql<string>`unnest(${clients.audiences})` }).from(clients);
  return rows.map((row) => row.audience);
}

/** Every scope some client may hold: what a user's key may carry (its roles permitting). */
export async function registeredScopes(db: Database): Promise<string[]> {
  const rows = await db.selectDistinct({ scope: sql<string>`unnest(${clients.scopes})` }).from(clients);
  return rows.map((row) => row.scope);
}
