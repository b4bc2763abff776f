// Cut-offs (docs/security.md): "every access token of this subject, client, session or key, or
// every token, issued at or before a moment". Which ones ending sessions writes, and when they end.
import type { Cutoff, CutoffKind } from '../denylist/denylist.js';
import type { SessionSelector } from './session-selector.js';

/** What a cut-off covers (see Cutoff): all tokens of a subject, client, session or key, or every token. */
export interface CutoffTarget {
  kind: CutoffKind;
  value: string;
}

/** The cut-off of every token issued up to `at` (inclusive, to the second of the issuer's clock). */
export function cutoffAt(target: CutoffTarget, at: Date, accessTokenTtlSeconds: number): Cutoff {
  const before = Math.floor(at.getTime() / 1000);
  return { kind: target.kind, value: target.value, before, expiresAt: before + accessTokenTtlSeconds };
}

/**
 * The cut-offs that ending sessions writes, beside the access tokens recorded in the sessions: all
 * of a user's or a client's sessions ended cover every token of that user or client (including
 * those no session recorded: a client's own client_credentials tokens, a token minted while the
 * revocation committed); single sessions, or all but the caller's own, cover their `sid`.
 */
export function cutoffsFor(selector: SessionSelector, familyIds: string[]): CutoffTarget[] {
  if ('familyIds' in selector || ('userId' in selector && (selector.exceptFamilyId || selector.exceptBrowserSessionId))) {
    return familyIds.map((id) => ({ kind: 'sid' as const, value: id }));
  }
  if ('clientId' in selector) return [{ kind: 'client_id', value: selector.clientId }];
  if ('all' in selector) return [{ kind: 'all', value: '*' }];
  return [{ kind: 'sub', value: selector.userId }];
}
