import type { Logger } from 'pino';
import { recordAuditEvent, type AuditSink } from '../audit/audit-log.js';
import type { Database } from '../db/database.js';
import { newestKey, nextRotationAt, rotateKeysIfDue, type KeyPolicy } from './key-store.js';

export interface KeyScheduleOptions extends AuditSink {
  db: Database;
  policy: KeyPolicy;
  /** KEY_ROTATION_INTERVAL in seconds. */
  intervalSeconds: number;
  /** Loads new keys here at once; the database announces them to the other instances. */
  onRotated: () => Promise<void>;
  logger: Logger;
  now?: () => Date;
}

export interface KeySchedule {
  /** When the next rotation is due, epoch milliseconds (undefined until the first check has read the keys). */
  nextRotationAt(): number | undefined;
  /** One check now: rotates when due. Returns whether this instance rotated. */
  check(): Promise<boolean>;
  stop(): void;
}

/** Checks at least every minute, and ten times per interval for short ones (tests). */
const checkPeriodMs = (intervalSeconds: number) => Math.min(60_000, Math.max(1000, (intervalSeconds * 1000) / 10));

/**
 * KEY_ROTATION_INTERVAL: every instance checks on a timer, and the one that takes the advisory lock
 * when the newest key has reached the interval makes the next keys (keys/key-store.ts). They are
 * published at once and sign after KEY_ACTIVATION_DELAY; the old ones retire then and leave the JWKS
 * once the longest token they signed has expired.
 */
export function startKeyRotationSchedule(options: KeyScheduleOptions): KeySchedule {
  const { db, policy, intervalSeconds, logger } = options;
  const now = options.now ?? (() => new Date());
  let next: number | undefined;

  async function check(): Promise<boolean> {
    const rotated = await rotateKeysIfDue(db, policy, intervalSeconds, now);
    if (rotated) {
      logger.info({ kid: rotated.access.kid, activatesAt: rotated.access.activatesAt.toISOString() }, 'signing keys rotated on schedule');
      await recordAuditEvent(db, options, {
        actor: 'schedule',
        type: 'signing_key_rotated',
        details: { kid: rotated.access.kid, refresh_kid: rotated.refresh.kid, algorithm: rotated.access.algorithm },
      });
      await options.onRotated();
    }
    const newest = rotated?.access ?? (await newestKey(db, 'access'));
    next = newest ? nextRotationAt(newest, intervalSeconds).getTime() : undefined;
    return rotated !== undefined;
  }

  const timer = setInterval(() => {
    check().catch((error: unknown) => {
      logger.warn({ err: error }, 'could not check the key rotation schedule; will retry');
    });
  }, checkPeriodMs(intervalSeconds));
  timer.unref();
  return { nextRotationAt: () => next, check, stop: () => clearInterval(timer) };
}
