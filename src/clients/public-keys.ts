import { createLocalJWKSet, createRemoteJWKSet, customFetch, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import type { OutboundFetch } from '../outbound/outbound-fetch.js';
import { urlShapeProblem } from '../outbound/outbound-policy.js';

/** Public keys only (no `d`, no symmetric `k`), for asymmetric signatures; at most ten. */
export const publicJwks = z.object({
  keys: z
    .array(
      z
        .object({ kty: z.enum(['RSA', 'EC', 'OKP'], { error: 'kty must be RSA, EC or OKP' }) })
        .loose()
        .refine((key) => !('d' in key) && !('k' in key), 'a key must be public: no private or symmetric part'),
    )
    .min(1, 'at least one key is required')
    .max(10, 'at most 10 keys'),
});

/**
 * Where keys may be served from, as far as the URL alone tells: https, or http on the loopback
 * interface (development, tests); never a link-local or metadata address. Whether a loopback host
 * is allowed depends on the deployment (outbound/outbound-policy.ts), checked where a registration
 * is made and again at every fetch.
 */
export function isServedUrl(value: string): boolean {
  return urlShapeProblem(value) === undefined;
}

export const SERVED_URL_RULE = 'an https URL (http only for localhost), never a link-local or metadata address';

/** Whose keys these are (a client, a trusted issuer) and where they are: inline, or at a URL. */
export interface KeySource {
  owner: string;
  jwks: unknown;
  jwksUri: string | null;
}

/**
 * The keys of each owner, for jose's jwtVerify. A jwks_uri is fetched when first needed, kept for
 * ten minutes, and fetched again for a key it does not hold at most once per `cooldownSeconds`, so
 * an owner rotating its key publishes the new one first and is picked up without a restart.
 * Undefined for an owner with neither.
 */
export function keySets(cooldownSeconds: number, fetch: OutboundFetch): (source: KeySource) => JWTVerifyGetKey | undefined {
  const remote = new Map<string, JWTVerifyGetKey>();
  return ({ owner, jwks, jwksUri }) => {
    if (jwks) return createLocalJWKSet(jwks as JSONWebKeySet);
    if (!jwksUri) return undefined;
    const cacheKey = `${owner} ${jwksUri}`;
    let keys = remote.get(cacheKey);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(jwksUri), {
        timeoutDuration: 5000,
        cooldownDuration: cooldownSeconds * 1000,
        cacheMaxAge: 10 * 60 * 1000,
        [customFetch]: fetch,
      });
      remote.set(cacheKey, keys);
    }
    return keys;
  };
}
