import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditEvents } from '../src/db/schema.js';
import { adminDatabaseUrl, migratedPostgresForBlock } from './support/test-database.js';

/** What the pool metric reads (token_issuer_database_pool_in_use): demand on PostgreSQL's pool, waiting included. */
describe.runIf(adminDatabaseUrl)('the database pool’s use', () => {
  const postgresBlock = migratedPostgresForBlock();

  it('counts statements and transactions in progress, past the pool size when they queue, and none after', async () => {
    const { db, pool } = postgresBlock.handle;
    expect(pool).toMatchObject({ size: 10 });
    // Started at once (drizzle's queries start when awaited): seven statements and seven transactions.
    const slow = Array.from({ length: 14 }, async (_, i) => {
      if (i % 2 === 0) await db.execute(sql`select pg_sleep(0.3)`);
      else await db.transaction((tx) => tx.execute(sql`select pg_sleep(0.3)`));
    });
    await expect.poll(() => pool!.inUse()).toBe(14);
    await Promise.all(slow);
    expect(pool!.inUse()).toBe(0);

    // A failed statement and a failed transaction give their count back too.
    await expect(db.execute(sql`select no_such_column`)).rejects.toThrow();
    await expect(db.transaction((tx) => tx.insert(auditEvents).values({ type: null as unknown as string }))).rejects.toThrow();
    expect(pool!.inUse()).toBe(0);
  });
});
