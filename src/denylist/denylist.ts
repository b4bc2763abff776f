/**
 * The revoked access-token ids, each until its token would have expired anyway. The issuer adds
 * to it; every verifier holds a local mirror that the store keeps current by push, so that a
 * revocation reaches every service within about a second while each check stays a local lookup.
 */
export interface DenylistEntry {
  jti: string;
  /** The token's `exp`, epoch seconds: the entry is dropped after it. */
  expiresAt: number;
}

export interface Denylist {
  /** Adds entries and tells every mirror; throws DependencyUnavailableError when it cannot. */
  add(entries: readonly DenylistEntry[]): Promise<void>;
  /** The authoritative answer; throws DependencyUnavailableError when the store cannot answer. */
  isRevoked(jti: string): Promise<boolean>;
  /** A local copy: the current set first, then every addition, across reconnects. */
  mirror(): Promise<DenylistMirror>;
  close(): Promise<void>;
}

export interface DenylistMirror {
  has(jti: string): boolean;
  /** How many live entries it holds. */
  size(): number;
  close(): Promise<void>;
}

export type EpochClock = () => number;
export const systemEpochSeconds: EpochClock = () => Math.floor(Date.now() / 1000);

/** A jti → exp map that forgets expired entries: the state of a mirror. */
export class ExpiringSet {
  private readonly entries = new Map<string, number>();

  constructor(private readonly now: EpochClock) {}

  addAll(entries: readonly DenylistEntry[]): void {
    for (const { jti, expiresAt } of entries) {
      if (expiresAt > (this.entries.get(jti) ?? 0)) this.entries.set(jti, expiresAt);
    }
  }

  has(jti: string): boolean {
    const expiresAt = this.entries.get(jti);
    return expiresAt !== undefined && expiresAt > this.now();
  }

  prune(): void {
    const now = this.now();
    for (const [jti, expiresAt] of this.entries) if (expiresAt <= now) this.entries.delete(jti);
  }

  size(): number {
    this.prune();
    return this.entries.size;
  }

  /** The entries still live. */
  live(): DenylistEntry[] {
    this.prune();
    return [...this.entries].map(([jti, expiresAt]) => ({ jti, expiresAt }));
  }
}
