import type { RevocationEntry, RevocationFacts, RevocationReason } from '@token-issuer/verifier';

export type {
  Cutoff,
  CutoffKind,
  DenylistEntry,
  EpochClock,
  RevocationEntry,
  RevocationFacts,
  RevocationReason,
} from '@token-issuer/verifier';
export {
  EXPIRY_GRACE_SECONDS,
  ExpiringSet,
  isCutoff,
  RevocationTable,
  stillLive,
  systemEpochSeconds,
  toWire,
} from '@token-issuer/verifier';

/**
 * The revoked access-token ids, each until its token would have expired anyway, and the cut-offs
 * (every token of a subject, client, session or key, or every token, issued up to a moment). The
 * issuer adds to it; every verifier holds a local mirror that the store keeps current by push, so
 * that a revocation reaches every service within about a second while each check stays local.
 */
export interface Denylist {
  /** Adds entries and tells every mirror; throws DependencyUnavailableError when it cannot. */
  add(entries: readonly RevocationEntry[]): Promise<void>;
  /**
   * The authoritative answer for one token id; throws DependencyUnavailableError when the store
   * cannot answer, or when the jti is not there and the store is not known complete (refilling
   * after a restart).
   */
  isRevoked(jti: string): Promise<boolean>;
  /**
   * Why a token is revoked (its jti, or a cut-off covering it), or undefined. Throws
   * DependencyUnavailableError when it cannot be sure: never undefined for a token that may be revoked.
   */
  refusal(token: RevocationFacts): Promise<RevocationReason | undefined>;
  /**
   * The latest cut-off known in this process that covers tokens with these facts: a token minted
   * now is given a later `iat`, so that a cut-off never catches a token issued after it.
   */
  latestCutoff(token: Omit<RevocationFacts, 'jti' | 'iat'>): number | undefined;
  /**
   * Adds every entry of the durable record, then marks the store complete, unless the store lost
   * its data meanwhile (then this throws, and the caller refills again).
   */
  refill(entries: readonly RevocationEntry[]): Promise<void>;
  /** Whether the store holds every revocation (false after a Redis restart, until refilled). */
  isComplete(): Promise<boolean>;
  /** A local copy: the current set first, then every addition, across reconnects. */
  mirror(): Promise<DenylistMirror>;
  close(): Promise<void>;
}

export interface DenylistMirror {
  has(jti: string): boolean;
  refusal(token: RevocationFacts): RevocationReason | undefined;
  /** How many live entries it holds. */
  size(): number;
  /** Seconds since the copy was last known complete; 0 while it follows the store. */
  staleness(): number;
  close(): Promise<void>;
}
