// The `algorithms` scenario: client_credentials and the verifier with each SIGNING_ALGORITHM, each
// beside bare jose signing or verifying with the same algorithm in the same run.
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { createVerifier } from '@token-issuer/verifier';
import { openFromEnvironment } from '../src/cli/cli-context.js';
import { resolveKeyEncryptionKey } from '../src/keys/key-encryption-key.js';
import { keyPolicyFrom, rotateKeys } from '../src/keys/key-store.js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../src/keys/signing-key.js';
import { alternatingRates, type InProcessRate, type Measured } from './measure.js';
import type { Row } from './report.js';

export interface AlgorithmBench {
  environment: Record<string, string>;
  issuer: string;
  audience: string;
  duration: number;
  /** client_credentials against the issuer for the scenario's duration, with its CPU per request. */
  driveClientCredentials(): Promise<Measured>;
  /** One client_credentials token, to see which algorithm signs now. */
  oneToken(): Promise<string>;
  bareRate(operation: () => Promise<unknown>): Promise<InProcessRate>;
  record(row: Row): void;
}

/** Rotates the running issuer's keys to `algorithm`, signing at once, and waits until it does. */
async function switchIssuerTo(bench: AlgorithmBench, algorithm: SigningAlgorithm): Promise<void> {
  await openFromEnvironment(bench.environment)(async ({ config, db, logger }) => {
    const policy = keyPolicyFrom({ ...config, signingAlgorithm: algorithm }, resolveKeyEncryptionKey(config, logger));
    await rotateKeys(db, { ...policy, activationDelaySeconds: 0 });
  });
  // The database announces the change; the issuer reloads within moments.
  const deadline = Date.now() + 10_000;
  while (decodeProtectedHeader(await bench.oneToken()).alg !== algorithm) {
    if (Date.now() > deadline) throw new Error(`bench: the issuer did not switch to ${algorithm}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function benchAlgorithms(bench: AlgorithmBench): Promise<void> {
  const claims = { client_id: 'app', scope: 'a' };
  const tokenRates: Partial<Record<SigningAlgorithm, number>> = {};
  for (const algorithm of SIGNING_ALGORITHMS) {
    await switchIssuerTo(bench, algorithm);
    const ours = await bench.driveClientCredentials();
    tokenRates[algorithm] = ours.rps;
    const { publicKey, privateKey } = await generateKeyPair(algorithm);
    const bare = await bench.bareRate(() =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: algorithm, typ: 'at+jwt', kid: 'k' })
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey),
    );
    // The goal for RS256: the whole token within 1.3x the CPU of the signature alone.
    const cpuOverSignature = ours.cpuMsPerRequest === undefined ? undefined : ours.cpuMsPerRequest / bare.cpuMsPerOperation;
    bench.record({
      scenario: `client_credentials ${algorithm}`,
      ...ours,
      reference: `bare jose ${algorithm} sign (token CPU ${cpuOverSignature?.toFixed(2) ?? '?'}x the signature's)`,
      referenceRps: bare.rate,
      referenceCpuMsPerRequest: bare.cpuMsPerOperation,
      ratio: ours.rps / bare.rate,
      cpuRatio: ours.cpuMsPerRequest ? bare.cpuMsPerOperation / ours.cpuMsPerRequest : undefined,
      ...(algorithm === 'RS256' && cpuOverSignature !== undefined
        ? { target: '<= 1.3x the signature (CPU)', met: cpuOverSignature <= 1.3 }
        : {}),
    });

    // The verifier against bare jose.jwtVerify with the same key, in alternating slices.
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: algorithm }] };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: algorithm, typ: 'at+jwt', kid: 'k' })
      .setIssuer(bench.issuer)
      .setAudience(bench.audience)
      .setSubject('u')
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti('j')
      .sign(privateKey);
    const verifier = createVerifier({ issuer: bench.issuer, audience: bench.audience, jwks });
    const localKeys = createLocalJWKSet(jwks);
    await verifier.verify(token);
    const [verified, bareVerified] = await alternatingRates(
      () => verifier.verify(token),
      () => jwtVerify(token, localKeys, { issuer: bench.issuer, audience: bench.audience, algorithms: [algorithm], typ: 'at+jwt' }),
      1,
      bench.duration,
    );
    await verifier.close();
    bench.record({
      scenario: `verifier ${algorithm} (no denylist)`,
      rps: verified,
      p50: 0,
      p99: 0,
      errors: 0,
      reference: `bare jose.jwtVerify ${algorithm}`,
      referenceRps: bareVerified,
      ratio: verified / bareVerified,
    });
  }
  const es256 = tokenRates.ES256!;
  const rs256 = tokenRates.RS256!;
  bench.record({
    scenario: 'client_credentials ES256 against RS256',
    rps: es256,
    p50: 0,
    p99: 0,
    errors: 0,
    reference: 'client_credentials RS256',
    referenceRps: rs256,
    ratio: es256 / rs256,
    target: '>= 3x',
    met: es256 / rs256 >= 3,
  });
  // Back to the issuer's own setting for whatever runs next.
  await switchIssuerTo(bench, 'RS256');
}
