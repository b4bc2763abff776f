import { count, eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditEvents } from '../src/db/schema.js';
import { isOutage } from '../src/outage.js';
import { RequestLife, runInRequest } from '../src/request-deadline.js';
import { holdTableLock } from './support/table-lock.js';
import { adminDatabaseUrl, migratedPostgresForBlock } from './support/test-database.js';

// The guard wraps postgres.js, whose connections can hang; PGlite runs in the process.
describe.runIf(adminDatabaseUrl)('database work ends with its request (PostgreSQL)', () => {
  const postgresBlock = migratedPostgresForBlock();

  const eventsOfType = async (type: string) =>
    (await postgresBlock.handle.db.select({ n: count() }).from(auditEvents).where(eq(auditEvents.type, type)))[0]!.n;
  const insertEvent = (type: string) => postgresBlock.handle.db.insert(auditEvents).values({ type });

  // isOutage: what the error mapping turns into 503 with Retry-After.
  it('does not begin a write for a request whose client has already gone', async () => {
    const gone = RequestLife.withDeadline(60_000);
    gone.clientGone();
    await expect(runInRequest(gone, () => insertEvent('after_client_left'))).rejects.toSatisfy(isOutage);
    await expect(runInRequest(gone, () => postgresBlock.handle.db.transaction(() => insertEvent('after_client_left')))).rejects.toSatisfy(
      isOutage,
    );
    expect(await eventsOfType('after_client_left')).toBe(0);
  });

  it.each([
    ['its client leaves', 60_000, (request: RequestLife) => request.clientGone()],
    ['its deadline passes', 40, () => new Promise((resolve) => setTimeout(resolve, 80))],
  ])('rolls back a transaction when %s before it commits', async (_case, deadlineMs, endDuringWork) => {
    const request = RequestLife.withDeadline(deadlineMs);
    const attempt = runInRequest(request, () =>
      postgresBlock.handle.db.transaction(async (tx) => {
        await tx.insert(auditEvents).values({ type: 'ended_before_commit' });
        await endDuringWork(request); // as if the statement had been held up on its way
      }),
    );
    await expect(attempt).rejects.toSatisfy(isOutage);
    expect(await eventsOfType('ended_before_commit')).toBe(0);
  });

  it.each([
    ['a write alone', (type: string) => insertEvent(type)],
    ['a transaction', (type: string) => postgresBlock.handle.db.transaction(() => insertEvent(type))],
  ])('cancels %s held up by a lock when the deadline passes, and nothing is written', async (_case, write) => {
    const lock = await holdTableLock(postgresBlock.database.url!, 'audit_events', 'exclusive');
    try {
      const request = RequestLife.withDeadline(300);
      const attempt = runInRequest(request, () => write('behind_a_lock'));
      await expect.poll(lock.waitingOnLocks).toBe(1);
      await expect(attempt).rejects.toSatisfy(isOutage);
      // Cancelled, not left waiting for the lock: its connection is free again at once.
      await expect.poll(lock.waitingOnLocks, { timeout: 2_000 }).toBe(0);
    } finally {
      await lock.release();
    }
    expect(await eventsOfType('behind_a_lock')).toBe(0);
  });

  it('waits for a COMMIT already sent when the deadline passes, so the answer says it committed', async () => {
    // A deferred trigger makes this COMMIT take half a second, past a 200 ms deadline.
    await postgresBlock.handle.db.execute(sql`
      create or replace function slow_commit() returns trigger language plpgsql as $$ begin perform pg_sleep(0.5); return null; end $$`);
    await postgresBlock.handle.db.execute(sql`
      create constraint trigger slow_commit after insert on audit_events deferrable initially deferred
      for each row when (new.type = 'slow_commit') execute function slow_commit()`);
    try {
      const request = RequestLife.withDeadline(200);
      await runInRequest(request, () => insertEvent('slow_commit'));
      await runInRequest(RequestLife.withDeadline(200), () =>
        postgresBlock.handle.db.transaction((tx) => tx.insert(auditEvents).values({ type: 'slow_commit' })),
      );
      expect(request.ended).toBe(true);
    } finally {
      await postgresBlock.handle.db.execute(sql`drop trigger slow_commit on audit_events`);
    }
    expect(await eventsOfType('slow_commit')).toBe(2);
  });

  it('commits writes and answers reads for a live request, and outside any request', async () => {
    const live = RequestLife.withDeadline(60_000);
    await runInRequest(live, () => insertEvent('while_live'));
    await runInRequest(live, () => postgresBlock.handle.db.transaction(() => insertEvent('while_live')));
    await insertEvent('while_live');
    expect(await runInRequest(live, () => eventsOfType('while_live'))).toBe(3);
  });
});
