import { readdirSync } from 'node:fs';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { openFromEnvironment } from '../../src/cli/cli-context.js';
import { openDatabase } from '../../src/db/database.js';
import { migrationsFolder } from '../../src/db/migrate.js';
import { runCli, startServer } from '../support/processes.js';
import { adminDatabaseUrl, createTestDatabase, type TestDatabase } from '../support/test-database.js';

const migrationCount = readdirSync(migrationsFolder).filter((file) => file.endsWith('.sql')).length;
const databases: TestDatabase[] = [];

async function freshDatabase(kind?: 'embedded'): Promise<TestDatabase> {
  const database = await createTestDatabase({ embedded: kind === 'embedded' });
  databases.push(database);
  return database;
}

afterEach(async () => {
  await Promise.all(databases.splice(0).map((database) => database.drop()));
});

/** Rows in drizzle's journal, and the application tables present. */
async function inspect(database: TestDatabase) {
  const handle = await openDatabase({ databaseUrl: database.env.DATABASE_URL, dataDir: database.env.DATA_DIR ?? '' });
  try {
    const applied = await handle.db.execute<{ count: number }>('select count(*)::int as count from drizzle.__drizzle_migrations');
    const tables = await handle.db.execute<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = 'public' order by 1",
    );
    const rows = (result: unknown) => (result as { rows?: unknown[] }).rows ?? (result as unknown[]);
    return {
      applied: (rows(applied)[0] as { count: number }).count,
      tables: (rows(tables) as { name: string }[]).map((row) => row.name),
    };
  } finally {
    await handle.close();
  }
}

describe.each([
  ['PGlite', 'embedded' as const],
  ['PostgreSQL', undefined],
])('migrations on %s', (_name, kind) => {
  it.runIf(kind === 'embedded' || adminDatabaseUrl)(
    'apply on an empty database, and a second run is a no-op',
    async () => {
      const database = await freshDatabase(kind);
      const first = await runCli(['migrate'], database.env);
      expect(first.code, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout)).toEqual({ migrated: true });
      const afterFirst = await inspect(database);
      expect(afterFirst).toEqual({
        applied: migrationCount,
        tables: [
          'api_keys',
          'audit_events',
          'authorization_codes',
          'authorization_requests',
          'browser_sessions',
          'clients',
          'consents',
          'federated_identities',
          'identity_providers',
          'linked_identities',
          'passkeys',
          'password_reset_tokens',
          'recovery_codes',
          'refresh_signing_keys',
          'refresh_token_families',
          'refresh_tokens',
          'revocation_cutoffs',
          'revoked_tokens',
          'signing_keys',
          'totp_factors',
          'trusted_issuers',
          'users',
          'webauthn_challenges',
        ],
      });

      // The second run in this process: the migrations the command runs, without booting another CLI.
      await openFromEnvironment(database.env)(async () => {});
      expect(await inspect(database)).toEqual(afterFirst);
    },
    90_000,
  );
});

describe.runIf(adminDatabaseUrl)('migrations on PostgreSQL under concurrency', () => {
  it('five migrators on one empty database at once all succeed and apply each migration once', async () => {
    const database = await freshDatabase();
    // Five connections of their own, as five processes would have: the lock is PostgreSQL's, not ours.
    const migrators = await Promise.all(Array.from({ length: 5 }, () => openDatabase({ databaseUrl: database.url, dataDir: '' })));
    try {
      const results = await Promise.allSettled(migrators.map((migrator) => migrator.migrate()));
      expect(results.map((result) => result.status)).toEqual(Array(5).fill('fulfilled'));
    } finally {
      await Promise.all(migrators.map((migrator) => migrator.close()));
    }
    expect((await inspect(database)).applied).toBe(migrationCount);
  });

  it('two servers starting at once on an empty database agree on one signing key', async () => {
    const database = await freshDatabase();
    const servers = await Promise.all([startServer(database.env), startServer(database.env)]);
    try {
      const jwks = await Promise.all(
        servers.map(async (server) => ((await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: unknown[] }).keys),
      );
      expect(jwks[0]).toHaveLength(1);
      expect(jwks[1]).toEqual(jwks[0]);
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
    const sql = postgres(database.url!, { max: 1 });
    const rows = await sql<{ current: number }[]>`select count(*)::int as current from signing_keys where retired_at is null`;
    await sql.end();
    expect(rows[0]?.current).toBe(1);
  });
});
