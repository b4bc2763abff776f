import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import { insertAuditEvent } from './audit-store.js';

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
  | 'second_factor_added'
  | 'second_factor_removed'
  | 'second_factor_failed'
  | 'recovery_code_used'
  | 'recovery_codes_regenerated'
  | 'user_created'
  | 'user_updated'
  | 'user_deleted'
  | 'client_created'
  | 'client_updated'
  | 'client_secret_rotated'
  | 'client_secret_retired'
  | 'client_authentication_failed'
  | 'identity_provider_added'
  | 'identity_provider_removed'
  | 'upstream_sign_in_refused'
  | 'identity_linked'
  | 'identity_unlinked'
  | 'trusted_issuer_added'
  | 'trusted_issuer_removed'
  | 'workload_bound'
  | 'workload_unbound'
  | 'client_deleted'
  | 'signing_key_rotated'
  | 'signing_key_revoked'
  | 'tokens_revoked'
  | 'token_exchanged'
  | 'api_key_created'
  | 'api_key_first_used'
  | 'api_key_refused'
  | 'api_key_revoked';

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

const ROUTINE: ReadonlySet<AuditEventType> = new Set(['sign_in_succeeded', 'token_exchanged']);

/** Every security event is a row (who, what, when, client, IP) and a structured log line. */
export async function recordAuditEvent(db: Database, sink: AuditSink, event: AuditEvent): Promise<void> {
  await insertAuditEvent(db, event);
  // A successful sign-in or token exchange is routine; everything else is worth a look.
  if (ROUTINE.has(event.type)) sink.logger.info({ audit: event }, event.type);
  else sink.logger.warn({ audit: event }, event.type);
  sink.onAuditEvent?.(event.type);
}

export { listAuditEvents, type AuditEventRow, type AuditFilter } from './audit-store.js';
