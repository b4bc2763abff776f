/**
 * Delegation (RFC 8693 §4.1): a token obtained by token exchange names, in `act`, the party acting
 * for its subject, and in `act.act` the one that acted before it, and so on. `actors` lists them
 * nearest first: for a user's request that went gateway -> orders -> billing, billing sees
 * `['orders', 'gateway']`.
 */

/** Deeper than any chain the issuer makes (its limit is TOKEN_EXCHANGE_MAX_CHAIN, at most 10). */
const MAX_CHAIN = 16;

/** The `sub` of each actor in the token's `act` chain, nearest first; empty for a token nobody was delegated. */
export function actorsOf(claims: Record<string, unknown>): string[] {
  const actors: string[] = [];
  let act = claims.act;
  while (act !== null && typeof act === 'object' && actors.length < MAX_CHAIN) {
    const { sub, act: previous } = act as { sub?: unknown; act?: unknown };
    if (typeof sub !== 'string') break;
    actors.push(sub);
    act = previous;
  }
  return actors;
}

/**
 * `true`: the call must come through a delegation (some actor); a list: the nearest actor (the
 * service that called) must be one of these.
 */
export type ActorRequirement = boolean | string | readonly string[];

/** Why the principal's chain does not meet the requirement, or undefined when it does. */
export function actorShortfall(actors: readonly string[], requirement: ActorRequirement | undefined): string | undefined {
  if (requirement === undefined || requirement === false) return undefined;
  const nearest = actors[0];
  if (nearest === undefined) return 'the call must be made on behalf of its subject through token exchange';
  if (requirement === true) return undefined;
  const allowed = typeof requirement === 'string' ? [requirement] : requirement;
  return allowed.includes(nearest) ? undefined : `the calling service is not one allowed to act here`;
}
