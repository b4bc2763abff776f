import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { acquireDataDirLock } from './data-dir-lock.js';
import { migratePostgres, migrationsFolder } from './migrate.js';
import * as schema from './schema.js';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** One open database, whichever engine: nothing outside this folder knows which it got. */
export interface DatabaseHandle {
  readonly db: Database;
  readonly kind: 'postgres' | 'embedded';
  /** Applies pending migrations; safe to call from many processes at once. */
  migrate(): Promise<void>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function openDatabase(options: { databaseUrl?: string; dataDir: string }): Promise<DatabaseHandle> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openEmbedded(options.dataDir);
}

function openPostgres(url: string): DatabaseHandle {
  const client = postgres(url, {
    max: 10,
    // Fail fast when PostgreSQL is away, so callers get a 503 instead of a hung request.
    connect_timeout: 5,
    idle_timeout: 60,
    onnotice: () => {},
  });
  const db = drizzlePostgres({ client, schema }) as unknown as Database;
  return {
    db,
    kind: 'postgres',
    migrate: () => migratePostgres(url),
    ping: async () => {
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/** PGlite in DATA_DIR: real PostgreSQL compiled to WASM, usable by one process at a time. */
async function openEmbedded(dataDir: string): Promise<DatabaseHandle> {
  mkdirSync(dataDir, { recursive: true });
  const lock = acquireDataDirLock(dataDir);
  try {
    return pgliteHandle(await PGlite.create(join(dataDir, 'pglite')), lock.release);
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** An in-memory PGlite, migrated: the fastest real database for tests that need no files. */
export async function openInMemoryDatabase(): Promise<DatabaseHandle> {
  const handle = pgliteHandle(await PGlite.create(), () => {});
  await handle.migrate();
  return handle;
}

function pgliteHandle(client: PGlite, afterClose: () => void): DatabaseHandle {
  const db = drizzlePglite({ client, schema });
  return {
    db: db as unknown as Database,
    kind: 'embedded',
    migrate: () => migratePglite(db, { migrationsFolder }),
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: async () => {
      await client.close();
      afterClose();
    },
  };
}
