import { randomUUID } from 'node:crypto';
import { SignJWT, type CryptoKey, type JWK, importJWK } from 'jose';
import { discoverMetadata } from './discovery.js';
import type { DenylistState } from './denylist-mirror.js';
import { fromWire, RevocationTable, type RevocationEntry, type RevocationFacts, type RevocationReason } from './revocation-table.js';
import type { DenylistEntry } from './expiring-set.js';

/** How a verifier reads the issuer's revocation feed: as a machine client with the scope `revocations:read`. */
export interface FeedOptions {
  clientId: string;
  /** The client's secret (client_secret_basic) … */
  clientSecret?: string;
  /** … or its private key (private_key_jwt, RFC 7523), with the key's `kid` and algorithm (default RS256). */
  privateKey?: CryptoKey | JWK;
  keyId?: string;
  algorithm?: string;
}

/** What the verifier asks of its copy of the revocations, whichever way it follows them. */
export interface FollowedRevocations {
  refusal(token: RevocationFacts): RevocationReason | undefined;
  /** Seconds since the copy was last heard to be current; Infinity before the first snapshot. */
  staleness(): number;
  readonly ready: Promise<void>;
  readonly loaded: Promise<void>;
  close(): Promise<void>;
}

const SCOPE = 'revocations:read';
const MAX_BACKOFF_MS = 30_000;

interface FeedEvent {
  event: string;
  id?: string;
  data: string;
}

/**
 * Follows the issuer's revocation feed over HTTPS: the snapshot once, then the stream of changes
 * from its cursor, resumed from the last cursor (at any instance) after a drop, with backoff. The
 * issuer sends a heartbeat every few seconds; the copy's staleness is the time since it last heard
 * from the feed, so a cut stream goes stale and the verifier's policy decides.
 */
export function followRevocationFeed(options: {
  issuer: string;
  feed: FeedOptions;
  onStateChange: (state: DenylistState) => void;
}): FollowedRevocations {
  const table = new RevocationTable();
  const controller = new AbortController();
  let cursor: string | undefined;
  let lastHeard: number | undefined;
  let token: { value: string; expiresAt: number } | undefined;
  let state: string | undefined;
  let markLoaded: () => void = () => {};
  const loaded = new Promise<void>((resolve) => (markLoaded = resolve));
  const heard = () => {
    lastHeard = Date.now();
    markLoaded();
    report({ state: 'complete' });
  };
  const report = (next: DenylistState) => {
    const key = next.state === 'disconnected' ? `${next.state}:${next.reason}` : next.state;
    if (key === state) return;
    state = key;
    options.onStateChange(next);
  };
  const pruning = setInterval(() => table.prune(), 60_000);
  pruning.unref();

  let endpoints: Promise<{ token: string; snapshot: string; stream: string }> | undefined;
  const discover = () =>
    (endpoints ??= (async () => {
      const metadata = await discoverMetadata(options.issuer);
      const { token_endpoint: tokenEndpoint, revocation_feed_endpoint: snapshot, revocation_feed_stream_endpoint: stream } = metadata;
      if (!tokenEndpoint || !snapshot || !stream) {
        throw new Error('the issuer does not serve a revocation feed (no revocation_feed_endpoint in its discovery document)');
      }
      return { token: tokenEndpoint, snapshot, stream };
    })().catch((error: unknown) => {
      endpoints = undefined;
      throw error;
    }));

  /** A client_credentials token for the feed, kept until shortly before it expires. */
  async function accessToken(tokenEndpoint: string): Promise<string> {
    if (token && token.expiresAt > Date.now() + 30_000) return token.value;
    const { clientId, clientSecret, privateKey } = options.feed;
    const body = new URLSearchParams({ grant_type: 'client_credentials', scope: SCOPE });
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (privateKey) {
      const key = 'kty' in privateKey ? await importJWK(privateKey, options.feed.algorithm ?? 'RS256') : privateKey;
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: options.feed.algorithm ?? 'RS256', ...(options.feed.keyId ? { kid: options.feed.keyId } : {}) })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(tokenEndpoint)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime('60s')
        .sign(key);
      body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      body.set('client_assertion', assertion);
    } else {
      headers.Authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret ?? '')}`).toString('base64')}`;
    }
    const response = await fetch(tokenEndpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
    const answer = (await response.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string };
    if (!response.ok || !answer.access_token)
      throw new Error(`the issuer refused the feed's client credentials (${answer.error ?? response.status})`);
    token = { value: answer.access_token, expiresAt: Date.now() + (answer.expires_in ?? 60) * 1000 };
    return token.value;
  }

  const add = (data: string) => {
    const pairs = JSON.parse(data) as DenylistEntry[];
    table.addAll(pairs.map(fromWire).filter((entry): entry is RevocationEntry => entry !== undefined));
  };

  async function readSnapshot(url: string, bearer: string) {
    const response = await fetch(url, {
      headers: { Authorization: `Bearer ${bearer}` },
      signal: AbortSignal.any([controller.signal, AbortSignal.timeout(10_000)]),
    });
    if (response.status === 401) token = undefined;
    if (!response.ok) throw new Error(`the revocation feed answered ${response.status}`);
    const snapshot = (await response.json()) as { cursor: string; entries: DenylistEntry[] };
    add(JSON.stringify(snapshot.entries));
    cursor = snapshot.cursor;
    heard();
  }

  /** Reads the stream until it ends; each event's id becomes the cursor to resume from. */
  async function readStream(url: string, bearer: string) {
    const response = await fetch(url, {
      headers: { Authorization: `Bearer ${bearer}`, Accept: 'text/event-stream', ...(cursor ? { 'Last-Event-ID': cursor } : {}) },
      signal: controller.signal,
    });
    if (response.status === 401) token = undefined;
    // A cursor this feed does not know (another issuer, a clock gone back): start from a snapshot.
    if (response.status === 400) cursor = undefined;
    if (!response.ok || !response.body) throw new Error(`the revocation feed stream answered ${response.status}`);
    heard();
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffered.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end).replace(/^\r?\n\r?\n/, '');
        const event = parseEvent(block);
        heard();
        if (!event) continue;
        if (event.event === 'revocations') add(event.data);
        if (event.id !== undefined) cursor = event.id;
      }
    }
  }

  async function run() {
    let backoff = 500;
    while (!controller.signal.aborted) {
      try {
        const urls = await discover();
        const bearer = await accessToken(urls.token);
        if (cursor === undefined) await readSnapshot(urls.snapshot, bearer);
        await readStream(urls.stream, bearer);
        backoff = 500; // the stream ended in order (an instance shutting down): resume at once
      } catch (error) {
        if (controller.signal.aborted) return;
        report({ state: 'disconnected', reason: error instanceof Error ? error.message : String(error) });
        await new Promise((resolve) => setTimeout(resolve, backoff * (0.75 + Math.random() / 2)).unref());
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }
  void run();

  return {
    refusal: (facts) => table.refusal(facts),
    staleness: () => (lastHeard === undefined ? Number.POSITIVE_INFINITY : (Date.now() - lastHeard) / 1000),
    ready: loaded,
    loaded,
    async close() {
      controller.abort();
      clearInterval(pruning);
    },
  };
}

/** One Server-Sent Event (WHATWG HTML §9.2.6); undefined for a comment alone. */
function parseEvent(block: string): FeedEvent | undefined {
  let event = 'message';
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  if (data.length === 0 && id === undefined) return undefined;
  return { event, ...(id !== undefined ? { id } : {}), data: data.join('\n') || '[]' };
}
