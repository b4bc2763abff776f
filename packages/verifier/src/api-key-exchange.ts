import { createHash } from 'node:crypto';
import { API_KEY_TOKEN_TYPE, isWellFormedApiKey } from './api-key-format.js';
import { discoverMetadata } from './discovery.js';
import { VerificationError } from './errors.js';

export interface ApiKeyOptions {
  /** Found by discovery (`token_endpoint`) when not given. */
  tokenEndpoint?: string;
  /** How many keys' tokens are kept. Default 10,000; the oldest goes first. */
  maxCachedKeys?: number;
}

/** RFC 8693 §2.1. */
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

interface Cached {
  token: string;
  expiresAt: number;
}

/**
 * Turns an API key into the principal of an access token: the key is exchanged at the issuer's
 * token endpoint once (RFC 8693, for this service's audience), and the token is kept for its life,
 * so every later request with the key is verified locally like any other token. A cached token
 * that has been revoked (the key revoked, its owner disabled or demoted) is dropped and the key
 * exchanged again, which gives what the key may do now, or a refusal.
 */
export function createApiKeyExchanger<P>(
  settings: { issuer: string; audience: string; options: ApiKeyOptions },
  verify: (token: string) => Promise<P>,
) {
  const maxCached = settings.options.maxCachedKeys ?? 10_000;
  const cache = new Map<string, Cached>();
  const inFlight = new Map<string, Promise<string>>();
  let tokenEndpoint: Promise<string> | undefined;

  const endpoint = () =>
    (tokenEndpoint ??= (async () => {
      if (settings.options.tokenEndpoint) return settings.options.tokenEndpoint;
      const metadata = await discoverMetadata(settings.issuer);
      if (!metadata.token_endpoint) throw new Error('the discovery metadata has no token_endpoint');
      return metadata.token_endpoint;
    })().catch((error: unknown) => {
      tokenEndpoint = undefined;
      throw error;
    }));

  async function exchange(key: string): Promise<Cached> {
    let response: Response;
    try {
      response = await fetch(await endpoint(), {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: TOKEN_EXCHANGE,
          subject_token: key,
          subject_token_type: API_KEY_TOKEN_TYPE,
          requested_token_type: ACCESS_TOKEN_TYPE,
          audience: settings.audience,
        }),
        signal: AbortSignal.timeout(5000),
      });
    } catch (error) {
      throw new VerificationError('issuer_unavailable', 'issuer_unavailable', { cause: error });
    }
    const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown };
    // RFC 6749 §5.2: 400 and 401 are the issuer refusing the key; anything else is the issuer's trouble.
    if (response.status === 400 || response.status === 401) throw new VerificationError('invalid_token', 'api_key_refused');
    if (!response.ok || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
      throw new VerificationError('issuer_unavailable', 'issuer_unavailable');
    }
    return { token: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 };
  }

  /** One exchange per key at a time: a burst of requests with a new key makes one call. */
  function freshToken(id: string, key: string): Promise<string> {
    let pending = inFlight.get(id);
    if (!pending) {
      pending = exchange(key)
        .then((cached) => {
          cache.delete(id);
          if (cache.size >= maxCached) cache.delete(cache.keys().next().value!);
          cache.set(id, cached);
          return cached.token;
        })
        .finally(() => inFlight.delete(id));
      inFlight.set(id, pending);
    }
    return pending;
  }

  return {
    /** The principal of the token the key stands for; a VerificationError otherwise. */
    async verifyApiKey(key: string): Promise<P> {
      // A typo or an invented key is refused here, without a call to the issuer.
      if (!isWellFormedApiKey(key)) throw new VerificationError('invalid_token', 'malformed_api_key');
      const id = createHash('sha256').update(key).digest('base64url');
      const cached = cache.get(id);
      if (cached && cached.expiresAt > Date.now()) {
        try {
          return await verify(cached.token);
        } catch (error) {
          if (!(error instanceof VerificationError) || (error.code !== 'revoked' && error.reason !== 'expired')) throw error;
          cache.delete(id);
        }
      }
      return verify(await freshToken(id, key));
    },
  };
}
