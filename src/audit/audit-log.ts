import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { auditEvents } from '../db/schema.js';

export type AuditEventType =
  | 'refresh_token_reuse_detected'
  | 'token_revoked'
  | 'session_revoked'
  | 'logout'
  | 'user_sessions_revoked';

export interface AuditEvent {
  type: AuditEventType;
  userId?: string;
  clientId?: string;
  familyId?: string;
  ipAddress?: string;
  details?: Record<string, unknown>;
}

/** Where audit events go besides the table: the log, and whoever counts them (metrics). */
export interface AuditSink {
  logger: Logger;
  onAuditEvent?: (type: AuditEventType) => void;
}

/** Every security event is a row (who, what, when, client, IP) and a structured log line. */
export async function recordAuditEvent(db: Database, sink: AuditSink, event: AuditEvent): Promise<void> {
  await db.insert(auditEvents).values(event);
  sink.logger.warn({ audit: event }, event.type);
  sink.onAuditEvent?.(event.type);
}
