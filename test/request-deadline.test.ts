import { count, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditEvents } from '../src/db/schema.js';
import { isOutage } from '../src/outage.js';
import { RequestLife, runInRequest } from '../src/request-deadline.js';
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

  it('commits writes and answers reads for a live request, and outside any request', async () => {
    const live = RequestLife.withDeadline(60_000);
    await runInRequest(live, () => insertEvent('while_live'));
    await runInRequest(live, () => postgresBlock.handle.db.transaction(() => insertEvent('while_live')));
    await insertEvent('while_live');
    expect(await runInRequest(live, () => eventsOfType('while_live'))).toBe(3);
  });
});
