import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export interface RemoteKeySetOptions {
  /** Keys older than this are refreshed at the next verification. */
  maxAgeMs: number;
  /** Least time between two fetches, whatever their reason (an unknown `kid`, stale keys, a failure). */
  cooldownMs: number;
  timeoutMs: number;
}

/**
 * The issuer's JWKS, fetched on first use and kept. Unlike a plain remote key set, a failed refresh
 * keeps the last good keys (stale-if-error), so verification stays local and keeps working while
 * the issuer is down; only the very first fetch must succeed. Fetches happen at most once per
 * cooldown, so garbage `kid`s cannot make it hammer the issuer.
 */
export function createRemoteKeySet(url: URL, options: RemoteKeySetOptions): JWTVerifyGetKey {
  let keys: JWTVerifyGetKey | undefined;
  let fetchedAt = 0;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | undefined;

  const refresh = () =>
    (inflight ??= (async () => {
      attemptedAt = Date.now();
      const response = await fetch(url, {
        headers: { Accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      if (!response.ok) throw new Error(`the JWKS answered ${response.status}`);
      keys = createLocalJWKSet((await response.json()) as JSONWebKeySet);
      fetchedAt = Date.now();
    })().finally(() => (inflight = undefined)));

  const mayFetch = () => Date.now() - attemptedAt >= options.cooldownMs;

  return async function getKey(header, token) {
    if (!keys) {
      if (!mayFetch()) throw new Error('the JWKS could not be fetched recently');
      await refresh();
    } else if (Date.now() - fetchedAt > options.maxAgeMs && mayFetch()) {
      await refresh().catch(() => {}); // keep the last good keys
    }
    try {
      return await keys!(header, token);
    } catch (error) {
      // A new key of the issuer, or a forged kid: look once more, within the cooldown.
      if (!(error instanceof errors.JWKSNoMatchingKey) || !mayFetch()) throw error;
      await refresh();
      return keys!(header, token);
    }
  };
}
