import { and, desc, eq, gte, lt } from 'drizzle-orm';
import type { Logger } from 'pino';
import { afterCursor, cursorTime, pageOf, type Page, type PageRequest } from '../db/keyset-page.js';
import type { Database } from '../db/database.js';
import { auditEvents } from '../db/schema.js';

export type AuditEventType =
  | 'sign_in_succeeded'
  | 'sign_in_failed'
  | 'sign_in_throttled'
  | 'refresh_token_reuse_detected'
  | 'authorization_code_reuse_detected'
  | 'consent_granted'
  | 'consent_withdrawn'
  | 'browser_session_ended'
  | 'token_revoked'
  | 'session_revoked'
  | 'logout'
  | 'user_sessions_revoked'
  | 'user_signed_up'
  | 'profile_updated'
  | 'password_changed'
  | 'password_reset_requested'
  | 'password_reset'
  | 'user_created'
  | 'user_updated'
  | 'user_deleted'
  | 'client_created'
  | 'client_updated'
  | 'client_secret_rotated'
  | 'client_secret_retired'
  | 'client_authentication_failed'
  | 'trusted_issuer_added'
  | 'trusted_issuer_removed'
  | 'workload_bound'
  | 'workload_unbound'
  | 'client_deleted'
  | 'signing_key_rotated'
  | 'signing_key_revoked'
  | 'tokens_revoked';

export interface AuditEvent {
  type: AuditEventType;
  userId?: string;
  clientId?: string;
  familyId?: string;
  ipAddress?: string;
  /** Who acted (`user:<id>` or `client:<id>`) when it is not the user the event is about. */
  actor?: string;
  details?: Record<string, unknown>;
}

/** Who acted and from where, as a domain function that records an event is told. */
export type AuditActor = Pick<AuditEvent, 'actor' | 'ipAddress'>;

/** Where audit events go besides the table: the log, and whoever counts them (metrics). */
export interface AuditSink {
  logger: Logger;
  onAuditEvent?: (type: AuditEventType) => void;
}

/** Every security event is a row (who, what, when, client, IP) and a structured log line. */
export async function recordAuditEvent(db: Database, sink: AuditSink, event: AuditEvent): Promise<void> {
  await db.insert(auditEvents).values(event);
  // A successful sign-in is routine; everything else is worth a look.
  if (event.type === 'sign_in_succeeded') sink.logger.info({ audit: event }, event.type);
  else sink.logger.warn({ audit: event }, event.type);
  sink.onAuditEvent?.(event.type);
}

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
