/**
 * token-issuer/verifier: verify this issuer's access tokens locally, in any Node.js service.
 *
 * ```ts
 * import { createVerifier, requireAuth } from 'token-issuer/verifier';
 * const verifier = createVerifier({ issuer: 'https://auth.example', audience: 'https://orders.example' });
 * app.get('/orders', requireAuth({ verifier, scopes: ['orders:read'] }), (c) => c.json(c.get('principal')));
 * ```
 *
 * It imports nothing from the issuer itself: only jose, hono for the middleware, and ioredis when a
 * denylist is given by URL.
 */
export {
  createVerifier,
  type DenylistOptions,
  type Principal,
  type RevocationStore,
  type Verifier,
  type VerifierOptions,
} from './verifier.js';
export { VerificationError, type VerificationErrorCode } from './errors.js';
export { requireAuth, type AuthEnv, type RequireAuthOptions } from './hono.js';
export {
  createDenylistMirror,
  denylistChannel,
  denylistKey,
  DENYLIST_COMPLETE_MEMBER,
  type DenylistMirror,
  type RedisClient,
} from './denylist-mirror.js';
