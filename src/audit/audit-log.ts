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

/** Every security event is a row (who, what, when, client, IP) and a structured log line. */
export async function recordAuditEvent(db: Database, logger: Logger, event: AuditEvent): Promise<void> {
  await db.insert(auditEvents).values(event);
  logger.warn({ audit: event }, event.type);
}
