import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { inSpan } from '../tracing/spans.js';
import { concurrencyLimit } from './concurrency-limit.js';

export interface Argon2Parameters {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** True when the password matches. An unknown account passes `undefined` and costs the same. */
  verify(storedHash: string | undefined, password: string): Promise<boolean>;
  /** True when the stored hash is weaker than the configured parameters (rehash on login). */
  needsRehash(storedHash: string): boolean;
  /** How many hashes wait for a slot. */
  queueDepth(): number;
}

/** `Algorithm.Argon2id`: a const enum, which isolated modules cannot read at run time. */
const ARGON2ID = 2 as Algorithm;

/** Requests waiting for a hashing slot beyond this get 503: a login storm cannot queue forever. */
const MAX_QUEUED_HASHES = 512;

/**
 * argon2id (RFC 9106) through @node-rs/argon2, which hashes on the libuv thread pool, off the
 * event loop. At most `concurrency` hashes run at once, so a login storm leaves threads and CPU for
 * token signing and health checks. Passwords are NFKC-normalized first (NIST SP 800-63B-4 §3.1.1.2),
 * so the same password typed on different keyboards matches.
 */
export function createPasswordHasher(parameters: Argon2Parameters, concurrency: number): PasswordHasher {
  const limited = concurrencyLimit(concurrency, MAX_QUEUED_HASHES);
  const options = {
    algorithm: ARGON2ID,
    memoryCost: parameters.memoryKib,
    timeCost: parameters.timeCost,
    parallelism: parameters.parallelism,
  };
  // A real hash of a random value: verifying against it costs what a real account costs.
  let dummyHash: Promise<string> | undefined;

  return {
    hash: (password) => inSpan('argon2id hash', {}, () => limited(() => hash(password.normalize('NFKC'), options))),
    verify: (storedHash, password) =>
      // The span covers the wait for a slot too: under a login storm that is where the time goes.
      inSpan('argon2id verify', {}, async () => {
        dummyHash ??= hash(crypto.randomUUID(), options);
        const target = storedHash ?? (await dummyHash);
        const matches = await limited(() => verify(target, password.normalize('NFKC')).catch(() => false));
        return storedHash !== undefined && matches;
      }),
    queueDepth: () => limited.pending(),
    needsRehash(storedHash) {
      const match = /^\$(argon2(?:id|i|d))\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(storedHash);
      if (!match || match[1] !== 'argon2id' || match[2] !== '19') return true;
      const [memory, time, lanes] = [Number(match[3]), Number(match[4]), Number(match[5])];
      return memory < parameters.memoryKib || time < parameters.timeCost || lanes < parameters.parallelism;
    },
  };
}
