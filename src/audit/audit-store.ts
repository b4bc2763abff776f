// The audit_events table: written by recordAuditEvent (audit-log.ts), read by the admin API.
import { and, desc, eq, gte, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { preparedPerDatabase } from '../db/prepared.js';
import { afterCursor, cursorTime, pageOf, type Page, type PageRequest } from '../db/keyset-page.js';
import { auditEvents } from '../db/schema.js';
import type { AuditEvent } from './audit-log.js';

export async function insertAuditEvent(db: Database, event: AuditEvent): Promise<void> {
  await auditInsert(db).execute({
    type: event.type,
    userId: event.userId ?? null,
    clientId: event.clientId ?? null,
    familyId: event.familyId ?? null,
    ipAddress: event.ipAddress ?? null,
    actor: event.actor ?? null,
    details: JSON.stringify(event.details ?? {}),
  });
}

// Every sign-in records an event: built once (see db/prepared.ts).
const auditInsert = preparedPerDatabase((db) =>
  db
    .insert(auditEvents)
    .values({
      type: sql.placeholder('type'),
      userId: sql`${sql.placeholder('userId')}::uuid`,
      clientId: sql.placeholder('clientId'),
      familyId: sql`${sql.placeholder('familyId')}::uuid`,
      ipAddress: sql.placeholder('ipAddress'),
      actor: sql.placeholder('actor'),
      details: sql`${sql.placeholder('details')}::jsonb`,
    })
    .prepare('insert_audit_event'),
);

export interface AuditFilter {
  type?: string;
  userId?: string;
  clientId?: string;
  actor?: string;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
}

export type AuditEventRow = typeof auditEvents.$inferSelect;

/** Newest first, a page at a time. */
export async function listAuditEvents(db: Database, filter: AuditFilter, page: PageRequest): Promise<Page<AuditEventRow>> {
  const rows = await db
    .select({ event: auditEvents, cursorAt: cursorTime(auditEvents.occurredAt) })
    .from(auditEvents)
    .where(
      and(
        filter.type === undefined ? undefined : eq(auditEvents.type, filter.type),
        filter.userId === undefined ? undefined : eq(auditEvents.userId, filter.userId),
        filter.clientId === undefined ? undefined : eq(auditEvents.clientId, filter.clientId),
        filter.actor === undefined ? undefined : eq(auditEvents.actor, filter.actor),
        filter.since === undefined ? undefined : gte(auditEvents.occurredAt, filter.since),
        filter.until === undefined ? undefined : lt(auditEvents.occurredAt, filter.until),
        afterCursor(auditEvents.occurredAt, auditEvents.id, page.cursor, 'desc'),
      ),
    )
    .orderBy(desc(auditEvents.occurredAt), desc(auditEvents.id))
    .limit(page.limit + 1);
  return pageOf(
    rows,
    page.limit,
    (row) => row.event.id,
    (row) => row.event,
  );
}
