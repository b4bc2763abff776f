import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { endWithRequest } from './deadline-guard.js';
import { countedClient } from './pool-usage.js';
import { tracedClient } from './traced-client.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import { migratePostgres, migrationsFolder } from './migrate.js';
import * as schema from './schema.js';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** One open database, whichever engine: nothing outside this folder knows which it got. */
export interface DatabaseHandle {
  readonly db: Database;
  readonly kind: 'postgres' | 'embedded';
  /** PostgreSQL's connection pool: its size, and how much of it is asked for now (db/pool-usage.ts). */
  readonly pool?: { size: number; inUse(): number };
  /** Applies pending migrations; safe to call from many processes at once. */
  migrate(): Promise<void>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /**
   * LISTEN on a channel: `onMessage` for each NOTIFY payload, `onListening` each time the listener
   * is (re)connected, when notices may have been missed. Resolves to a function that stops it.
   */
  listen(channel: string, onMessage: (payload: string) => void, onListening: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export async function openDatabase(options: { databaseUrl?: string; dataDir: string; tracing?: unknown }): Promise<DatabaseHandle> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.tracing !== undefined) : openEmbedded(options.dataDir);
}

/** Connections per instance (PostgreSQL's default max_connections of 100 leaves room for several instances). */
const POOL_SIZE = 10;

/** Far above any query of a request; a statement past it is cancelled by PostgreSQL. */
const STATEMENT_TIMEOUT_MS = 10_000;

/** With `traced`, every statement and transaction is a span (tracing is on). */
function openPostgres(url: string, traced: boolean): DatabaseHandle {
  const client = postgres(url, {
    max: POOL_SIZE,
    // Fail fast when PostgreSQL is away, so callers get a 503 instead of a hung request.
    connect_timeout: 5,
    // Queries wait for the next connection attempt. postgres.js spaces attempts by up to 20 s once
    // failures pile up across the pool (3^n / 100 s), which held requests 7-15 s during an outage
    // and after it ended; bounded to a second, a request waits at most that plus connect_timeout.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2),
    // No statement runs longer than this (migrations use a connection of their own).
    connection: { statement_timeout: STATEMENT_TIMEOUT_MS },
    idle_timeout: 60,
    onnotice: () => {},
  });
  const counted = countedClient(client);
  const db = drizzlePostgres({
    client: endWithRequest(traced ? tracedClient(counted.client) : counted.client),
    schema,
  }) as unknown as Database;
  return {
    db,
    kind: 'postgres',
    pool: { size: POOL_SIZE, inUse: counted.inUse },
    migrate: () => migratePostgres(url),
    ping: async () => {
      await client`select 1`;
    },
    // postgres.js keeps one connection for LISTEN and reconnects it by itself.
    listen: async (channel, onMessage, onListening) => {
      const { unlisten } = await client.listen(channel, onMessage, onListening);
      return unlisten;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/** PGlite in DATA_DIR: real PostgreSQL compiled to WASM, usable by one process at a time. */
async function openEmbedded(dataDir: string): Promise<DatabaseHandle> {
  mkdirSync(dataDir, { recursive: true });
  const lock = acquireDataDirLock(dataDir);
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    return await pgliteHandle(await PGlite.create(join(dataDir, 'pglite')), lock.release);
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** An in-memory PGlite, migrated: the fastest real database for tests that need no files. */
export async function openInMemoryDatabase(): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const handle = await pgliteHandle(await PGlite.create(), () => {});
  await handle.migrate();
  return handle;
}

/** PGlite and its drizzle driver are loaded only in the embedded mode (about 15 MB otherwise spent). */
async function pgliteHandle(client: PGlite, afterClose: () => void): Promise<DatabaseHandle> {
  const [{ drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  const db = drizzlePglite({ client, schema });
  return {
    db: db as unknown as Database,
    kind: 'embedded',
    migrate: () => migratePglite(db, { migrationsFolder }),
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    listen: async (channel, onMessage, onListening) => {
      const stop = await client.listen(channel, onMessage);
      onListening();
      return stop;
    },
    close: async () => {
      await client.close();
      afterClose();
    },
  };
}
