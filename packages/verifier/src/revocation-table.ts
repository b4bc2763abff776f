import { ExpiringSet, stillLive, systemEpochSeconds, type DenylistEntry, type EpochClock } from './expiring-set.js';

/**
 * What a cut-off covers: the tokens of one subject, one client, one session (`sid`), one signing
 * key (`kid`), or every token (`all`).
 */
export type CutoffKind = 'sub' | 'client_id' | 'sid' | 'kid' | 'all';
export const CUTOFF_KINDS: readonly CutoffKind[] = ['sub', 'client_id', 'sid', 'kid', 'all'];

/**
 * "Every token of this kind and value issued at or before `before` is revoked" (epoch seconds of
 * the issuer's clock, compared with the token's `iat`, also the issuer's clock). It is kept until
 * `expiresAt`, when the longest-lived token it can cover has expired.
 */
export interface Cutoff {
  kind: CutoffKind;
  /** The subject, client id, session id or key id; `*` for `all`. */
  value: string;
  before: number;
  expiresAt: number;
}

/** What the denylist holds: single token ids and cut-offs. */
export type RevocationEntry = DenylistEntry | Cutoff;

/** Which rule refused a token: its own `jti`, or a cut-off of its subject, client, session, key, or of every token. */
export type RevocationReason = 'revoked' | 'revoked_subject' | 'revoked_client' | 'revoked_session' | 'revoked_key' | 'revoked_all';

const REASONS: Record<CutoffKind, RevocationReason> = {
  sub: 'revoked_subject',
  client_id: 'revoked_client',
  sid: 'revoked_session',
  kid: 'revoked_key',
  all: 'revoked_all',
};

/** The facts of a verified token that revocation looks at. */
export interface RevocationFacts {
  jti: string;
  iat: number;
  sub: string;
  client_id: string;
  sid?: string;
  /** The `kid` of the protected header. */
  kid?: string;
  /**
   * The actors of a token obtained by token exchange (RFC 8693 §4.1 `act`, nearest first): a
   * client's cut-off covers the tokens it obtained for others down the chain as well as its own.
   */
  actors?: readonly string[];
}

export const isCutoff = (entry: RevocationEntry): entry is Cutoff => 'kind' in entry;

/**
 * On the wire (a member of the Redis sorted set, an element of a channel message) every entry is
 * a `{ jti, expiresAt }` pair: a cut-off's "jti" is `:cutoff:<kind>:<before>:<value>`. Members
 * starting with a colon are never token ids (those are base64url), so verifiers that predate
 * cut-offs pass over them.
 */
const CUTOFF_MEMBER = /^:cutoff:(sub|client_id|sid|kid|all):(\d{1,15}):(.+)$/s;

export function toWire(entry: RevocationEntry): DenylistEntry {
  if (!isCutoff(entry)) return { jti: entry.jti, expiresAt: entry.expiresAt };
  return { jti: `:cutoff:${entry.kind}:${entry.before}:${entry.value}`, expiresAt: entry.expiresAt };
}

/** The entry a wire pair stands for; undefined for the issuer's other marks (`:complete`, …). */
export function fromWire(pair: DenylistEntry): RevocationEntry | undefined {
  if (typeof pair.jti !== 'string' || typeof pair.expiresAt !== 'number') return undefined;
  if (!pair.jti.startsWith(':')) return pair;
  const match = CUTOFF_MEMBER.exec(pair.jti);
  if (!match) return undefined;
  return { kind: match[1] as CutoffKind, before: Number(match[2]), value: match[3]!, expiresAt: pair.expiresAt };
}

const cutoffKey = (kind: CutoffKind, value: string) => `${kind}\u0000${value}`;

/**
 * Revoked token ids and cut-offs, each forgotten once it can no longer matter. Checking a token
 * costs six map lookups however many entries there are: its jti, then one cut-off per kind.
 */
export class RevocationTable {
  private readonly tokens: ExpiringSet;
  /** kind + value → the latest cut-off for it (the latest `before` covers every earlier one). */
  private readonly cutoffs = new Map<string, Cutoff>();

  constructor(private readonly now: EpochClock = systemEpochSeconds) {
    this.tokens = new ExpiringSet(now);
  }

  addAll(entries: readonly RevocationEntry[]): void {
    const tokens: DenylistEntry[] = [];
    for (const entry of entries) {
      if (!isCutoff(entry)) {
        tokens.push(entry);
        continue;
      }
      const key = cutoffKey(entry.kind, entry.value);
      const known = this.cutoffs.get(key);
      if (!known) {
        this.cutoffs.set(key, entry);
        continue;
      }
      this.cutoffs.set(key, {
        ...entry,
        before: Math.max(known.before, entry.before),
        expiresAt: Math.max(known.expiresAt, entry.expiresAt),
      });
    }
    this.tokens.addAll(tokens);
  }

  /** Why the token is revoked, or undefined when nothing covers it. Cut-offs are inclusive: `iat == before` is covered. */
  refusal(token: RevocationFacts): RevocationReason | undefined {
    if (this.tokens.has(token.jti)) return 'revoked';
    if (this.cutoffs.size === 0) return undefined;
    const now = this.now();
    const covers = (kind: CutoffKind, value: string | undefined) => {
      if (value === undefined) return false;
      const cutoff = this.cutoffs.get(cutoffKey(kind, value));
      return cutoff !== undefined && stillLive(cutoff.expiresAt, now) && token.iat <= cutoff.before;
    };
    if (covers('all', '*')) return REASONS.all;
    if (covers('kid', token.kid)) return REASONS.kid;
    if (covers('client_id', token.client_id) || token.actors?.some((actor) => covers('client_id', actor))) return REASONS.client_id;
    if (covers('sub', token.sub)) return REASONS.sub;
    if (covers('sid', token.sid)) return REASONS.sid;
    return undefined;
  }

  /** Whether this token id is revoked on its own (not through a cut-off). */
  hasToken(jti: string): boolean {
    return this.tokens.has(jti);
  }

  /** The latest `before` among the cut-offs that would cover a token with these facts, or undefined. */
  latestCutoff(token: Omit<RevocationFacts, 'jti' | 'iat'>): number | undefined {
    const now = this.now();
    let latest: number | undefined;
    const pairs: [CutoffKind, string | undefined][] = [
      ['all', '*'],
      ['kid', token.kid],
      ['client_id', token.client_id],
      ['sub', token.sub],
      ['sid', token.sid],
    ];
    for (const [kind, value] of pairs) {
      const cutoff = value === undefined ? undefined : this.cutoffs.get(cutoffKey(kind, value));
      if (cutoff && stillLive(cutoff.expiresAt, now)) latest = Math.max(latest ?? cutoff.before, cutoff.before);
    }
    return latest;
  }

  prune(): void {
    this.tokens.prune();
    const now = this.now();
    for (const [key, cutoff] of this.cutoffs) if (!stillLive(cutoff.expiresAt, now)) this.cutoffs.delete(key);
  }

  /** How many live entries it holds, token ids and cut-offs. */
  size(): number {
    this.prune();
    return this.tokens.size() + this.cutoffs.size;
  }

  /** The entries still live. */
  live(): RevocationEntry[] {
    this.prune();
    return [...this.tokens.live(), ...this.cutoffs.values()];
  }
}
