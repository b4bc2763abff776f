/**
 * `@token-issuer/verifier`: verify token-issuer's access tokens locally, in any Node.js service.
 *
 * ```ts
 * import { createVerifier, requireAuth } from '@token-issuer/verifier';
 * const verifier = createVerifier({ issuer: 'https://auth.example', audience: 'https://orders.example' });
 * app.get('/orders', requireAuth({ verifier, scopes: ['orders:read'] }), (c) => c.json(c.get('principal')));
 * ```
 *
 * Its one dependency is jose. `requireAuth` is for Hono apps (an optional peer dependency), and
 * ioredis (the other) is loaded only when a denylist is given by URL. The issuer itself uses this
 * package, so the two cannot disagree on what a valid token is.
 *
 * @packageDocumentation
 */
export {
  createVerifier,
  revocationFacts,
  type DenylistOptions,
  type Logger,
  type Principal,
  type RevocationStore,
  type Verifier,
  type VerifierOptions,
} from './verifier.js';
export { VerificationError, type VerificationErrorCode } from './errors.js';
export { API_KEY_PREFIX, API_KEY_TOKEN_TYPE, encodeApiKey, isWellFormedApiKey, looksLikeApiKey } from './api-key-format.js';
export type { ApiKeyOptions } from './api-key-exchange.js';
export type { FeedOptions } from './revocation-feed-follower.js';
export { actorsOf, actorShortfall, type ActorRequirement } from './delegation.js';
export { requireAuth, type AuthEnv, type RequireAuthOptions } from './hono.js';
export {
  ACR_MULTI_FACTOR,
  ACR_SINGLE_FACTOR,
  userAuthenticationShortfall,
  type UserAuthenticationRequirement,
  type UserAuthenticationShortfall,
} from './user-authentication.js';
// The denylist's Redis layout, shared with the issuer that writes it.
export {
  createDenylistMirror,
  denylistChannel,
  denylistKey,
  DENYLIST_COMPLETE_MEMBER,
  DENYLIST_REFILLED_NOTICE,
  type DenylistMirror,
  type DenylistMirrorOptions,
  type DenylistState,
  type RedisClient,
} from './denylist-mirror.js';
export { ExpiringSet, EXPIRY_GRACE_SECONDS, stillLive, systemEpochSeconds, type DenylistEntry, type EpochClock } from './expiring-set.js';
export {
  CUTOFF_KINDS,
  fromWire,
  isCutoff,
  RevocationTable,
  toWire,
  type Cutoff,
  type CutoffKind,
  type RevocationEntry,
  type RevocationFacts,
  type RevocationReason,
} from './revocation-table.js';
