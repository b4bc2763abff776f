/** A revoked token id and its token's `exp` (epoch seconds), after which it need not be kept. */
export interface DenylistEntry {
  jti: string;
  expiresAt: number;
}

export type EpochClock = () => number;
export const systemEpochSeconds: EpochClock = () => Math.floor(Date.now() / 1000);

/** A jti → exp map that forgets expired entries. */
export class ExpiringSet {
  private readonly entries = new Map<string, number>();

  constructor(private readonly now: EpochClock = systemEpochSeconds) {}

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
