import { createHash } from 'node:crypto';
import { createLocalJWKSet, type CryptoKey, type JWK, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { SigningKeyRow } from '../db/schema.js';
import { ensureCurrentKey, listVerifyingKeys, rotateKey, type KeyPolicy } from './key-store.js';
import { open } from './sealed-box.js';
import { importPrivateKey } from './signing-key.js';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  /** When it began (or begins) signing, epoch milliseconds. */
  activatesAt: number;
}

/** The JWKS document, serialized once per key change, never per request. */
export interface JwksDocument {
  body: string;
  etag: string;
}

/**
 * The keys this instance signs and publishes with, held in memory. It re-reads the key table on
 * an interval, so every instance picks up `keys rotate` without a restart, and it keeps serving
 * what it has when the database is briefly away.
 */
export interface KeyRing {
  current(): SigningKey;
  jwks(): JwksDocument;
  /** The published keys, for verifying this issuer's own tokens. */
  verificationKeys(): JWTVerifyGetKey;
  refresh(): Promise<void>;
  /** A new key (published at once, signing after KEY_ACTIVATION_DELAY), loaded here at once. */
  rotate(): Promise<SigningKeyRow>;
  stop(): void;
}

export interface KeyRingOptions {
  db: Database;
  policy: KeyPolicy;
  logger: Logger;
  refreshIntervalSeconds: number;
  now?: () => Date;
}

export async function createKeyRing(options: KeyRingOptions): Promise<KeyRing> {
  const { db, policy, logger } = options;
  const now = options.now ?? (() => new Date());
  const imported = new Map<string, CryptoKey>();
  let fingerprint = '';
  /** Keys that sign now or will, latest activation first. */
  let signers: SigningKey[] = [];
  let jwks: JwksDocument | undefined;
  let verificationKeys: JWTVerifyGetKey | undefined;

  async function load(): Promise<void> {
    const rows = await listVerifyingKeys(db, policy.retentionSeconds, now());
    const next = rows.map((row) => `${row.kid}:${row.activatesAt.getTime()}:${row.retiredAt?.getTime() ?? '-'}`).join(',');
    if (next === fingerprint) return;
    const nowMs = now().getTime();
    const signing = rows
      .filter((row) => row.retiredAt === null || row.retiredAt.getTime() > nowMs)
      .sort((a, b) => b.activatesAt.getTime() - a.activatesAt.getTime());
    if (signing.length === 0) throw new Error('no signing key in the database');
    signers = await Promise.all(
      signing.map(async (row) => ({ kid: row.kid, privateKey: await privateKeyOf(row), activatesAt: row.activatesAt.getTime() })),
    );
    jwks = buildJwks(rows);
    verificationKeys = createLocalJWKSet(JSON.parse(jwks.body) as { keys: JWK[] });
    fingerprint = next;
    logger.info({ signing: signers.map((key) => key.kid), published: rows.map((row) => row.kid) }, 'signing keys loaded');
  }

  async function privateKeyOf(row: SigningKeyRow): Promise<CryptoKey> {
    let key = imported.get(row.kid);
    if (!key) {
      key = await importPrivateKey(JSON.parse(open(row.privateKeySealed, policy.keyEncryptionKey, row.kid)) as JWK);
      imported.set(row.kid, key);
    }
    return key;
  }

  await ensureCurrentKey(db, policy);
  await load();

  const timer = setInterval(() => {
    load().catch((error: unknown) => {
      logger.warn({ err: error }, 'could not refresh signing keys; keeping the ones in memory');
    });
  }, options.refreshIntervalSeconds * 1000);
  timer.unref();

  return {
    // The latest key whose activation time has come: a pending key takes over by itself.
    current: () => {
      const nowMs = now().getTime();
      return signers.find((key) => key.activatesAt <= nowMs) ?? signers[signers.length - 1]!;
    },
    jwks: () => jwks!,
    verificationKeys: () => verificationKeys!,
    refresh: load,
    async rotate() {
      const key = await rotateKey(db, policy);
      await load();
      return key;
    },
    stop: () => clearInterval(timer),
  };
}

function buildJwks(rows: SigningKeyRow[]): JwksDocument {
  // Only the public members; the current key first, as verifiers try keys in order.
  const keys = rows.map(({ publicJwk: { kty, n, e, kid, alg, use } }) => ({ kty, n, e, kid, alg, use }));
  const body = JSON.stringify({ keys });
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;
  return { body, etag };
}
