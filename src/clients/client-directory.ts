import type { Database } from '../db/database.js';
import type { ClientRow } from '../db/schema.js';
import { findClientWithSecret } from './client-registry.js';

/** Where client authentication finds a client (with its secret hash). */
export interface ClientDirectory {
  find(id: string): Promise<ClientRow | undefined>;
  /** Drops one client, or every client, so that the next lookup reads the database. */
  forget(id?: string): void;
}

/** Straight from the database on every lookup (the CLI, tests). */
export function databaseClientDirectory(db: Database): ClientDirectory {
  return { find: (id) => findClientWithSecret(db, id), forget: () => {} };
}

export interface ClientCacheOptions {
  /** Upper bound on how long a copy is used if a change notice were ever missed. */
  ttlMs: number;
  maxEntries: number;
  now?: () => number;
}

/**
 * Clients held in memory, so that a token request costs no database round trip. Every change is
 * announced by the database (migration 0005: a trigger notifies `token_issuer_clients`) and this
 * instance's own admin routes forget what they change at once; a copy is dropped on either, and
 * after `ttlMs` regardless. Unknown ids are not cached, so a new client works at once and guessed
 * ids cannot fill the memory. A lookup already in flight when a change arrives is not kept.
 */
export function cachedClientDirectory(db: Database, options: ClientCacheOptions): ClientDirectory {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { row: ClientRow; loadedAt: number }>();
  let generation = 0;

  return {
    async find(id) {
      const cached = entries.get(id);
      if (cached && now() - cached.loadedAt < options.ttlMs) return cached.row;
      const startedIn = generation;
      const loadedAt = now();
      const row = await findClientWithSecret(db, id);
      if (row && startedIn === generation) {
        if (entries.size >= options.maxEntries) entries.delete(entries.keys().next().value!);
        entries.set(id, { row, loadedAt });
      }
      return row;
    },
    forget(id) {
      generation += 1;
      if (id === undefined) entries.clear();
      else entries.delete(id);
    },
  };
}

/** The database channel that announces client changes (see drizzle/0005). */
export const CLIENT_CHANGES_CHANNEL = 'token_issuer_clients';
