import { createHash } from 'node:crypto';
import { createLocalJWKSet, type JWK, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { SigningKeyRow } from '../db/schema.js';
import {
  ensureCurrentKeys,
  listVerifyingKeys,
  revokeKey,
  rotateKeys,
  type KeyPolicy,
  type KeyPurpose,
  type RevokedKey,
} from './key-store.js';
import type { Signer } from './signer.js';
import { isSigningAlgorithm, publicJwkOf, type SigningAlgorithm } from './signing-key.js';

export interface SigningKey extends Signer {
  /** When it began (or begins) signing, epoch milliseconds. */
  activatesAt: number;
}

/** The JWKS document, serialized once per key change, never per request. */
export interface JwksDocument {
  body: string;
  etag: string;
}

/**
 * The keys this instance signs and publishes with, held in memory. runtime.ts reloads it whenever
 * the database announces a key change, and it re-reads the key tables on an interval as well, so
 * every instance picks up `keys rotate` and `keys revoke` without a restart; it keeps serving what
 * it has when the database is briefly away.
 */
export interface KeyRing {
  /**
   * The key that signs access and id tokens now; with an algorithm, the one of that algorithm
   * (a client's id_token_signed_response_alg), or a NoSigningKeyError when none of it signs now.
   */
  current(algorithm?: SigningAlgorithm): SigningKey;
  /** Whether a key of this algorithm signs now. */
  signsWith(algorithm: SigningAlgorithm): boolean;
  /** The key that signs refresh tokens now: never published. */
  currentRefreshKey(): SigningKey;
  jwks(): JwksDocument;
  /** The algorithms of the published keys, the signing one's first (discovery's `id_token_signing_alg_values_supported`). */
  publishedAlgorithms(): SigningAlgorithm[];
  /** The published keys, for verifying this issuer's own access tokens. */
  verificationKeys(): JWTVerifyGetKey;
  /** The keys refresh tokens may be signed with: refresh keys, and access keys for refresh tokens issued before refresh keys existed. */
  refreshVerificationKeys(): JWTVerifyGetKey;
  refresh(): Promise<void>;
  /** New access and refresh keys (the access key published at once, both signing after KEY_ACTIVATION_DELAY), loaded here at once. */
  rotate(): Promise<Record<KeyPurpose, SigningKeyRow>>;
  /** Withdraws a key (key-store.ts revokeKey); this instance stops signing and verifying with it at once. */
  revoke(kid: string): Promise<RevokedKey | undefined>;
  stop(): void;
}

export class NoSigningKeyError extends Error {
  constructor(readonly algorithm: SigningAlgorithm) {
    super(`no ${algorithm} key signs now`);
    this.name = 'NoSigningKeyError';
  }
}

export interface KeyRingOptions {
  db: Database;
  policy: KeyPolicy;
  logger: Logger;
  refreshIntervalSeconds: number;
  now?: () => Date;
}

interface LoadedKeys {
  fingerprint: string;
  /** Keys that sign now or will, latest activation first. */
  signers: Record<KeyPurpose, SigningKey[]>;
  jwks: JwksDocument;
  publishedAlgorithms: SigningAlgorithm[];
  verificationKeys: JWTVerifyGetKey;
  refreshVerificationKeys: JWTVerifyGetKey;
}

export async function createKeyRing(options: KeyRingOptions): Promise<KeyRing> {
  const { db, policy, logger } = options;
  const now = options.now ?? (() => new Date());
  const signerByKid = new Map<string, Promise<Signer>>();
  let loaded: LoadedKeys | undefined;
  // Loads overlap (the interval, a change notice, this instance's own rotation): each takes a turn
  // number when it reads, and one that read before a later load already applied is dropped, so a
  // slow read from before a rotation never replaces the keys read after it.
  let turns = 0;
  let appliedTurn = 0;

  async function load(): Promise<void> {
    const turn = ++turns;
    const at = now();
    // Access keys are read for as long as a refresh key is kept: older refresh tokens were signed with them.
    const [accessRows, refreshRows] = await Promise.all([
      listVerifyingKeys(db, 'access', policy.retentionSeconds.refresh, at),
      listVerifyingKeys(db, 'refresh', policy.retentionSeconds.refresh, at),
    ]);
    const fingerprint = [...accessRows, ...refreshRows]
      .map((row) => `${row.kid}:${row.activatesAt.getTime()}:${row.retiredAt?.getTime() ?? '-'}`)
      .join(',');
    if (fingerprint === loaded?.fingerprint) {
      appliedTurn = Math.max(appliedTurn, turn);
      return;
    }
    const published = accessRows.filter(
      (row) => row.retiredAt === null || row.retiredAt.getTime() > at.getTime() - policy.retentionSeconds.access * 1000,
    );
    const jwks = buildJwks(published);
    const signers = { access: await signersOf(accessRows, at), refresh: await signersOf(refreshRows, at) };
    if (turn < appliedTurn) return;
    appliedTurn = turn;
    loaded = {
      fingerprint,
      signers,
      jwks,
      publishedAlgorithms: [...new Set([...signers.access.map((key) => key.algorithm), ...published.map((row) => row.algorithm)])].filter(
        isSigningAlgorithm,
      ),
      verificationKeys: createLocalJWKSet(JSON.parse(jwks.body) as { keys: JWK[] }),
      refreshVerificationKeys: createLocalJWKSet({ keys: [...refreshRows, ...accessRows].map(publicMembers) }),
    };
    logger.info(
      {
        signing: loaded.signers.access.map((key) => key.kid),
        published: published.map((row) => row.kid),
        refreshSigning: loaded.signers.refresh.map((key) => key.kid),
      },
      'signing keys loaded',
    );
  }

  async function signersOf(rows: SigningKeyRow[], at: Date): Promise<SigningKey[]> {
    const signing = rows
      .filter((row) => row.retiredAt === null || row.retiredAt.getTime() > at.getTime())
      .sort((a, b) => b.activatesAt.getTime() - a.activatesAt.getTime());
    if (signing.length === 0) throw new Error('no signing key in the database');
    return Promise.all(
      signing.map(async (row) => {
        const signer = await signerOf(row);
        return {
          kid: row.kid,
          algorithm: signer.algorithm,
          sign: (input: Buffer) => signer.sign(input),
          activatesAt: row.activatesAt.getTime(),
        };
      }),
    );
  }

  function signerOf(row: SigningKeyRow): Promise<Signer> {
    if (!isSigningAlgorithm(row.algorithm)) throw new Error(`signing key ${row.kid} has an unknown algorithm ${row.algorithm}`);
    let signer = signerByKid.get(row.kid);
    if (!signer) {
      signer = policy.backend.signer({ kid: row.kid, algorithm: row.algorithm, privateKeySealed: row.privateKeySealed });
      signerByKid.set(row.kid, signer);
      signer.catch(() => signerByKid.delete(row.kid));
    }
    return signer;
  }

  for (const row of await ensureCurrentKeys(db, policy)) {
    logger.info(
      { algorithm: row.algorithm, kid: row.kid, activatesAt: row.activatesAt.toISOString() },
      'the newest key was not of the configured algorithm: rotated to it',
    );
  }
  await load();

  const timer = setInterval(() => {
    load().catch((error: unknown) => {
      logger.warn({ err: error }, 'could not refresh signing keys; keeping the ones in memory');
    });
  }, options.refreshIntervalSeconds * 1000);
  timer.unref();

  // The latest key whose activation time has come: a pending key takes over by itself.
  const currentOf = (purpose: KeyPurpose) => {
    const nowMs = now().getTime();
    const signers = loaded!.signers[purpose];
    return signers.find((key) => key.activatesAt <= nowMs) ?? signers[signers.length - 1]!;
  };
  const currentWith = (algorithm: SigningAlgorithm) => {
    const nowMs = now().getTime();
    return loaded!.signers.access.find((key) => key.algorithm === algorithm && key.activatesAt <= nowMs);
  };

  return {
    current(algorithm) {
      if (algorithm === undefined) return currentOf('access');
      const key = currentWith(algorithm);
      if (!key) throw new NoSigningKeyError(algorithm);
      return key;
    },
    signsWith: (algorithm) => currentWith(algorithm) !== undefined,
    currentRefreshKey: () => currentOf('refresh'),
    jwks: () => loaded!.jwks,
    publishedAlgorithms: () => loaded!.publishedAlgorithms,
    verificationKeys: () => loaded!.verificationKeys,
    refreshVerificationKeys: () => loaded!.refreshVerificationKeys,
    refresh: load,
    async rotate() {
      const keys = await rotateKeys(db, policy);
      await load();
      return keys;
    },
    async revoke(kid) {
      const revoked = await revokeKey(db, policy, kid);
      await load();
      return revoked;
    },
    stop: () => clearInterval(timer),
  };
}

/** Only the public members of a key (RFC 7517 §9.3). */
const publicMembers = (row: SigningKeyRow): JWK => publicJwkOf(row.publicJwk);

function buildJwks(rows: SigningKeyRow[]): JwksDocument {
  // Newest first (a key published ahead of its activation, then the signing one, then retired ones);
  // verifiers pick a key by kid, so the order is for people reading the document.
  const keys = rows.map(publicMembers);
  const body = JSON.stringify({ keys });
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
  return { body, etag };
}
