// Verifications per second of token-issuer/verifier (denylist enabled, on Redis) next to bare
// jose.jwtVerify on the same token, in the same run. Rounds alternate between the two so that
// machine noise falls on both; the medians and their ratio are reported. A measurement, not a test.
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { Redis } from 'ioredis';
import { createVerifier } from 'token-issuer/verifier';

const ISSUER = 'https://issuer.bench';
const AUDIENCE = 'https://api.bench';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1000);
const redisUrl = process.env.REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const { publicKey, privateKey } = await generateKeyPair('RS256');
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' }] };
const token = await new SignJWT({ client_id: 'app', scope: 'items:read', roles: ['user'] })
  .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'bench' })
  .setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('user').setIssuedAt().setExpirationTime('1h')
  .setJti(randomBytes(16).toString('base64url'))
  .sign(privateKey);

const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
try {
  await probe.connect();
  await probe.ping();
} catch {
  console.error(`bench: Redis is not reachable at ${redisUrl}; the verifier is measured with its denylist, which needs it`);
  process.exit(1);
} finally {
  probe.disconnect();
}

const prefix = `bench:${randomBytes(4).toString('hex')}:`;
const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks, denylist: { redis: redisUrl, prefix } });
const localKeys = createLocalJWKSet(jwks);
const contenders: Record<string, () => Promise<unknown>> = {
  'jose.jwtVerify (bare)': () => jwtVerify(token, localKeys, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'], typ: 'at+jwt' }),
  'token-issuer/verifier + denylist': () => verifier.verify(token),
};

async function round(run: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < ROUND_MS) {
    for (let i = 0; i < 100; i += 1) await run();
    count += 100;
  }
  return count / ((performance.now() - started) / 1000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

for (const run of Object.values(contenders)) for (let i = 0; i < 2000; i += 1) await run(); // warm-up
const results = Object.fromEntries(Object.keys(contenders).map((name) => [name, [] as number[]]));
for (let i = 0; i < ROUNDS; i += 1) {
  for (const [name, run] of Object.entries(contenders)) results[name]!.push(await round(run));
}
await verifier.close();

const bare = median(results['jose.jwtVerify (bare)']!);
const ours = median(results['token-issuer/verifier + denylist']!);
console.log(`verifier micro-benchmark: RS256 2048, ${ROUNDS} rounds of ${ROUND_MS} ms each, medians, Node ${process.version}`);
for (const [name, rates] of Object.entries(results)) {
  console.log(`  ${name.padEnd(36)} ${Math.round(median(rates)).toString().padStart(8)} verifications/s  (min ${Math.round(Math.min(...rates))}, max ${Math.round(Math.max(...rates))})`);
}
const ratio = ours / bare;
console.log(`  ratio verifier/bare: ${ratio.toFixed(3)} (target >= 0.80: ${ratio >= 0.8 ? 'met' : 'NOT met'})`);
