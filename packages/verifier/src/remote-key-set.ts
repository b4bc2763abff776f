import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export interface RemoteKeySetOptions {
  /** Keys older than this are refreshed at the next verification. */
  maxAgeMs: number;
  /** Least time between two fetches for an unknown `kid` (or after a failed first fetch). */
  cooldownMs: number;
  timeoutMs: number;
}

/**
 * The issuer's JWKS, fetched on first use and kept. Unlike a plain remote key set, a failed refresh
 * keeps the last good keys (stale-if-error), so verification stays local and keeps working while
 * the issuer is down; only the very first fetch must succeed. Stale keys are refreshed at most once
 * per max-age, and unknown `kid`s cause a fetch at most once per cooldown, so garbage `kid`s cannot
 * make it hammer the issuer.
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

  const sinceAttempt = () => Date.now() - attemptedAt;
  const mayFetch = () => sinceAttempt() >= options.cooldownMs;

  return async function getKey(header, token) {
    if (!keys) {
      // Callers that arrive while the first fetch is in flight wait for it, rather than being
      // refused by the cooldown that fetch started.
      if (inflight) await inflight;
      else if (!mayFetch()) throw new Error('the JWKS could not be fetched recently');
      else await refresh();
    } else if (Date.now() - fetchedAt > options.maxAgeMs && sinceAttempt() > options.maxAgeMs) {
      await refresh().catch(() => {}); // keep the last good keys; try again after another max-age
    }
    try {
      return await keys!(header, token);
    } catch (error) {
      // A new key of the issuer, or a forged kid: look once more, within the cooldown; a fetch
      // already in flight (for another caller with the same new kid) is shared.
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      if (inflight) await inflight;
      else if (mayFetch()) await refresh();
      else throw error;
      return keys!(header, token);
    }
  };
}
