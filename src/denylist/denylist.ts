import type { DenylistEntry } from '@token-issuer/verifier';

export type { DenylistEntry, EpochClock } from '@token-issuer/verifier';
export { ExpiringSet, systemEpochSeconds } from '@token-issuer/verifier';

/**
 * The revoked access-token ids, each until its token would have expired anyway. The issuer adds
 * to it; every verifier holds a local mirror that the store keeps current by push, so that a
 * revocation reaches every service within about a second while each check stays a local lookup.
 */
export interface Denylist {
  /** Adds entries and tells every mirror; throws DependencyUnavailableError when it cannot. */
  add(entries: readonly DenylistEntry[]): Promise<void>;
  /**
   * The authoritative answer; throws DependencyUnavailableError when the store cannot answer, or
   * when the jti is not there and the store is not known complete (refilling after a restart).
   */
  isRevoked(jti: string): Promise<boolean>;
  /**
   * Adds every entry of the durable record, then marks the store complete, unless the store lost
   * its data meanwhile (then this throws, and the caller refills again).
   */
  refill(entries: readonly DenylistEntry[]): Promise<void>;
  /** Whether the store holds every revocation (false after a Redis restart, until refilled). */
  isComplete(): Promise<boolean>;
  /** A local copy: the current set first, then every addition, across reconnects. */
  mirror(): Promise<DenylistMirror>;
  close(): Promise<void>;
}

export interface DenylistMirror {
  has(jti: string): boolean;
  /** How many live entries it holds. */
  size(): number;
  /** Seconds since the copy was last known complete; 0 while it follows the store. */
  staleness(): number;
  close(): Promise<void>;
}
