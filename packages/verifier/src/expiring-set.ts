/** A revoked token id and its token's `exp` (epoch seconds), after which it need not be kept. */
export interface DenylistEntry {
  jti: string;
  expiresAt: number;
}

export type EpochClock = () => number;

/**
 * Entries are kept this long past their `expiresAt`: a verifier accepts a token up to its clock
 * tolerance (at most 60 seconds) after `exp`, and a revoked token must stay refused as long.
 */
export const EXPIRY_GRACE_SECONDS = 60;

/** Whether an entry expiring at `expiresAt` still counts at `now` (see EXPIRY_GRACE_SECONDS). */
export const stillLive = (expiresAt: number, now: number) => expiresAt + EXPIRY_GRACE_SECONDS > now;
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
    return expiresAt !== undefined && stillLive(expiresAt, this.now());
  }

  prune(): void {
    const now = this.now();
    for (const [jti, expiresAt] of this.entries) if (!stillLive(expiresAt, now)) this.entries.delete(jti);
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
