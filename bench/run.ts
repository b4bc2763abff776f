// npm run bench: the issuer over HTTP (autocannon, keep-alive) next to its references, measured in
// one run on one machine; targets are ratios. Flags: --quick, --duration S, --connections N,
// --scenario a,b, --out FILE, --cpu-prof DIR, --perf-jitdump. PostgreSQL and Redis from BENCH_DATABASE_URL /
// BENCH_REDIS_URL, else the embedded mode. Not a test: it reports, it never fails on a number.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { openFromEnvironment } from '../src/cli/cli-context.js';
import { clientRegistrationFrom } from '../src/cli/clients-command.js';
import { createClient } from '../src/clients/client-registry.js';
import { createApiKey } from '../src/api-keys/api-keys.js';
import { TOKEN_EXCHANGE_GRANT } from '../src/grants/grant-types.js';
import { createRedisDenylist } from '../src/denylist/redis-denylist.js';
import { accountDependenciesFrom, registerUser } from '../src/users/accounts.js';
import { createLogger } from '../src/logger.js';
import { API_KEY_TOKEN_TYPE, createVerifier, RevocationTable, type RevocationEntry, type VerifierOptions } from '@token-issuer/verifier';
import { benchAlgorithms } from './algorithms.js';
import { imageNodeOptions } from './image-node-options.js';
import {
  alternatingRates,
  drive as autocannonDrive,
  inProcessRate,
  rssMbOf,
  withCpuOf,
  type InProcessRate,
  type Load,
  type Measured,
} from './measure.js';
import { createProcessHost, type Server } from './processes.js';
import { addTrustedIssuer, bindWorkload } from '../src/federation/trusted-issuers.js';
import { serviceAccountClaims, startWorkloadIssuer, type WorkloadIssuer } from '../test/support/workload-issuer.js';
import { cpuRatioOf, progressLine, report, type Row } from './report.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    connections: { type: 'string' },
    scenario: { type: 'string' },
    out: { type: 'string', default: 'bench/results/latest.json' },
    // Run the issuer from src/ through tsx rather than the build in dist/ (for the smoke test,
    // which must not depend on a build another test may be rewriting). Slower and larger in memory.
    'from-source': { type: 'boolean', default: false },
    // Writes a V8 CPU profile of the issuer into this directory when it exits (open it in Chrome
    // DevTools or speedscope): where the time goes, scenario by scenario.
    'cpu-prof': { type: 'string' },
    // Makes the issuer write a jitdump (jit-PID.dump, in this directory) for `perf record -k 1 -g -p
    // PID` and `perf inject --jit`: CPU time per thread with JavaScript names, where a V8 profile
    // counts wall time (a thread preempted inside a call counts as busy in it).
    'perf-jitdump': { type: 'boolean', default: false },
  },
});
const DURATION = Number(flags.duration ?? (flags.quick ? 2 : 10));
const CONNECTIONS = Number(flags.connections ?? (flags.quick ? 8 : 32));
const ALL = [
  'client_credentials',
  'client_credentials_federated',
  'jwks',
  'password',
  'refresh',
  'refresh_endpoint',
  'token_exchange',
  'api_key_exchange',
  'introspection',
  'revocation',
  'verifier',
  'healthz_storm',
  'feed_fanout',
  'algorithms',
  'tracing',
];
const chosen = flags.scenario ? flags.scenario.split(',') : ALL;
for (const name of chosen) if (!ALL.includes(name)) throw new Error(`unknown scenario ${name}; one of ${ALL.join(', ')}`);

const ISSUER = 'http://issuer.bench';
const AUDIENCE = 'https://api.bench';
const PASSWORD = 'a benchmark passphrase of length';
const ARGON2 = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

const rows: Row[] = [];
let peakRssMb = 0;
/** The scenario during which the peak was reached: the first row recorded after it rose. */
let peakRssScenario: string | undefined;
let peakRssRose = false;

// ---------- the system under test ----------
const databaseAdmin = process.env.BENCH_DATABASE_URL;
const redisUrl = process.env.BENCH_REDIS_URL;
const dbName = `token_issuer_bench_${randomBytes(4).toString('hex')}`;
const dataDir = databaseAdmin ? undefined : mkdtempSync(join(tmpdir(), 'token-issuer-bench-'));
const environment: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  ISSUER,
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  // The login storm must reach argon2, not the throttle.
  LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000000',
  LOGIN_MAX_FAILURES_PER_IP: '1000000',
  // Every request comes from 127.0.0.1: the per-IP limits would measure themselves.
  INTROSPECTION_RATE_LIMIT_PER_IP: '1000000',
  ...(databaseAdmin ? { DATABASE_URL: databaseUrlFor(databaseAdmin, dbName) } : { DATA_DIR: dataDir! }),
  ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `${dbName}:` } : {}),
};
const host = createProcessHost(environment);

// Measured as deployed: with the container image's Node options.
const issuerNodeOptions = imageNodeOptions();

function databaseUrlFor(admin: string, name: string) {
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

// ---------- measuring ----------
const drive = (options: Load) => autocannonDrive({ connections: CONNECTIONS, duration: DURATION, ...options });
const bareRate = (operation: () => Promise<unknown>): Promise<InProcessRate> => inProcessRate(operation, cpus().length * 2, DURATION);

function record(row: Row) {
  rows.push(row);
  if (peakRssRose) [peakRssScenario, peakRssRose] = [row.scenario, false];
  console.error(progressLine(row));
}

/**
 * A row against a reference: the rate ratio and the CPU ratio beside it. A target is set on the
 * rate ratio, or with `byCpu` on the CPU ratio (the paths whose reference is bare crypto measured
 * in this process: their rates share the cores with the load generator, PostgreSQL and Redis).
 */
function compared(
  scenario: string,
  ours: Measured,
  reference: { name: string; rps: number; cpuMs?: number },
  target?: { text: string; ratio: number; byCpu?: boolean; alsoMet?: boolean },
): Row {
  const ratio = ours.rps / reference.rps;
  const cpuRatio = cpuRatioOf(reference.cpuMs, ours.cpuMsPerRequest);
  const judged = target?.byCpu ? cpuRatio : ratio;
  return {
    scenario,
    ...ours,
    reference: reference.name,
    referenceRps: reference.rps,
    referenceCpuMsPerRequest: reference.cpuMs,
    ratio,
    cpuRatio,
    ...(target ? { target: target.text, met: judged !== undefined && judged >= target.ratio && (target.alsoMet ?? true) } : {}),
  };
}

const form = (body: Record<string, string>) => new URLSearchParams(body).toString();
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

// ---------- run ----------
const admin = databaseAdmin ? postgres(databaseAdmin, { max: 1, onnotice: () => {} }) : undefined;
// A Kubernetes-like cluster whose service-account tokens the federated client presents.
const cluster: WorkloadIssuer | undefined = chosen.includes('client_credentials_federated') ? await startWorkloadIssuer() : undefined;
const CLUSTER_AUDIENCE = 'token-issuer.bench';
try {
  if (admin) await admin.unsafe(`create database ${dbName}`);
  // Seeded in this process through the domain functions the CLI calls (no CLI process per row).
  const { machine, app, gateway, feedReader, apiKey } = await openFromEnvironment(environment)(async (context) => {
    const { config, db, outbound, logger } = context;
    const registered = async (options: string[]) => {
      const { id, secret } = await createClient(db, clientRegistrationFrom(options));
      return { client_id: id, client_secret: secret! };
    };
    const clients = {
      machine: await registered([
        '--name',
        'machine',
        '--grants',
        'client_credentials',
        '--scopes',
        'items:read introspect',
        '--audiences',
        AUDIENCE,
      ]),
      app: await registered(['--name', 'app', '--grants', 'password,refresh_token', '--scopes', 'items:read', '--audiences', AUDIENCE]),
      // A service passing the user's token on (RFC 8693), to the same API for simplicity.
      gateway: await registered(['--name', 'gateway', '--grants', TOKEN_EXCHANGE_GRANT, '--scopes', 'items:read', '--audiences', AUDIENCE]),
      // A downstream service following the revocation feed.
      feedReader: await registered([
        '--name',
        'feed',
        '--grants',
        'client_credentials',
        '--scopes',
        'revocations:read',
        '--audiences',
        ISSUER,
      ]),
    };
    const user = await registerUser(accountDependenciesFrom(config, db), { username: 'bench', email: 'bench@example.com' }, PASSWORD);
    const { key } = await createApiKey(
      context,
      config.apiKeys,
      { user },
      { name: 'bench', scopes: ['items:read'], audiences: [AUDIENCE] },
      {},
    );
    if (cluster) {
      const { id } = await createClient(
        db,
        clientRegistrationFrom([
          ...['--name', 'billing', '--grants', 'client_credentials', '--scopes', 'items:read'],
          ...['--audiences', AUDIENCE, '--auth-methods', 'federation'],
        ]),
      );
      const change = { db, audit: { logger }, outbound };
      await addTrustedIssuer(change, { issuer: cluster.issuer, jwksUri: `${cluster.issuer}/openid/v1/jwks`, audience: CLUSTER_AUDIENCE });
      await bindWorkload(change, { clientId: id, issuer: cluster.issuer, subject: 'system:serviceaccount:billing:api' });
    }
    return { ...clients, apiKey: key };
  });

  if (!flags['from-source'] && !existsSync('dist/main.js')) throw new Error('bench: run `npm run build` first (or pass --from-source)');
  const profiling = [
    ...(flags['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', flags['cpu-prof']] : []),
    ...(flags['perf-jitdump'] ? ['--perf-prof', '--interpreted-frames-native-stack'] : []),
  ];
  const issuer = await host.listen(
    [...profiling, ...(flags['from-source'] ? ['--conditions=source', '--import', 'tsx', 'src/main.ts'] : ['dist/main.js'])],
    {
      NODE_OPTIONS: issuerNodeOptions,
    },
  );
  const base = `http://127.0.0.1:${issuer.port}`;
  const pid = issuer.pid;
  /** Off while the feed's streams are open: the peak is the token paths' (the feed reports its own memory). */
  let samplingRss = true;
  const sampleRss = () => {
    const rss = samplingRss ? rssMbOf(pid) : 0;
    if (rss > peakRssMb) [peakRssMb, peakRssRose] = [rss, true];
  };
  const rssTimer = setInterval(sampleRss, 200);
  const machineAuth = basic(machine.client_id, machine.client_secret);
  const appAuth = basic(app.client_id, app.client_secret);
  const formHeaders = (authorization: string) => ({ 'content-type': 'application/x-www-form-urlencoded', authorization });
  const post = async (path: string, body: Record<string, string>, authorization: string) =>
    (await fetch(`${base}${path}`, { method: 'POST', headers: formHeaders(authorization), body: form(body) })).json() as Promise<
      Record<string, string>
    >;
  const signIn = () => post('/token', { grant_type: 'password', username: 'bench', password: PASSWORD }, appAuth);

  let reference: Server | undefined;
  const referenceSecret = randomBytes(24).toString('base64url');
  if (chosen.includes('client_credentials') || chosen.includes('jwks')) {
    reference = await host.listen(['--import', 'tsx', 'bench/reference-oidc-provider.ts'], { CLIENT_SECRET: referenceSecret });
  }
  console.error(
    `bench: ${databaseAdmin ? 'PostgreSQL' : 'embedded PGlite'}${redisUrl ? ' + Redis' : ' (no Redis)'}, ${CONNECTIONS} connections, ${DURATION} s per scenario`,
  );

  if (chosen.includes('client_credentials')) {
    const body = form({ grant_type: 'client_credentials' });
    const ours = await withCpuOf(pid, () => drive({ url: `${base}/token`, method: 'POST', headers: formHeaders(machineAuth), body }));
    const theirs = await withCpuOf(reference!.pid, () =>
      drive({
        url: `http://127.0.0.1:${reference!.port}/token`,
        method: 'POST',
        headers: formHeaders(basic('bench', referenceSecret)),
        body: form({ grant_type: 'client_credentials', scope: 'items:read' }),
      }),
    );
    const name = `node-oidc-provider (p99 ${theirs.p99} ms, errors ${theirs.errors})`;
    record(
      compared(
        'client_credentials',
        ours,
        { name, rps: theirs.rps, cpuMs: theirs.cpuMsPerRequest },
        { text: '>= 1.2x, p99 no worse', ratio: 1.2, alsoMet: ours.p99 <= theirs.p99 && theirs.errors === 0 },
      ),
    );
  }

  /**
   * The same grant, the client authenticated by a Kubernetes service-account token (RS256, as a
   * cluster signs by default) instead of its secret. Each platform token works once, so they are
   * signed before the load starts and the scenario runs for as many requests as there are tokens;
   * the reference is the secret-authenticated grant, measured here again right before.
   */
  if (chosen.includes('client_credentials_federated')) {
    const count = flags.quick ? 400 : 6000;
    const claims = serviceAccountClaims('billing', 'api', CLUSTER_AUDIENCE);
    const platformTokens = await Promise.all(Array.from({ length: count }, () => cluster!.mint(claims)));
    let next = 0;
    const bySecret = await withCpuOf(pid, () =>
      drive({
        url: `${base}/token`,
        method: 'POST',
        headers: formHeaders(machineAuth),
        body: form({ grant_type: 'client_credentials' }),
        amount: count,
      }),
    );
    const federated = await withCpuOf(pid, () =>
      drive({
        url: `${base}/token`,
        amount: count,
        requests: [
          {
            method: 'POST',
            setupRequest: (request) => ({
              ...request,
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: form({
                grant_type: 'client_credentials',
                client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
                client_assertion: platformTokens[next++ % count]!,
              }),
            }),
          },
        ],
      }),
    );
    record(
      compared('client_credentials_federated', federated, {
        name: 'client_credentials by secret',
        rps: bySecret.rps,
        cpuMs: bySecret.cpuMsPerRequest,
      }),
    );
  }

  if (chosen.includes('jwks')) {
    const ours = await withCpuOf(pid, () => drive({ url: `${base}/.well-known/jwks.json` }));
    const theirs = await withCpuOf(reference!.pid, () => drive({ url: `http://127.0.0.1:${reference!.port}/jwks` }));
    record(
      compared(
        'jwks',
        ours,
        { name: 'node-oidc-provider', rps: theirs.rps, cpuMs: theirs.cpuMsPerRequest },
        { text: '>= 1.5x', ratio: 1.5 },
      ),
    );
  }

  if (chosen.includes('password')) {
    const ours = await withCpuOf(pid, () =>
      drive({
        url: `${base}/token`,
        method: 'POST',
        headers: formHeaders(appAuth),
        body: form({ grant_type: 'password', username: 'bench', password: PASSWORD }),
      }),
    );
    const stored = await hash(PASSWORD, ARGON2);
    const bare = await bareRate(() => verify(stored, PASSWORD));
    record(
      compared(
        'password',
        ours,
        { name: `bare argon2id verify, ${cpus().length} cores`, rps: bare.rate, cpuMs: bare.cpuMsPerOperation },
        { text: '>= 0.9x by CPU', ratio: 0.9, byCpu: true },
      ),
    );
  }

  /**
   * Refresh rotation is a chain: each request needs the token the previous answer gave. autocannon
   * prepares a connection's next request before the previous answer arrives, so this scenario has
   * its own loop: one worker per connection (fetch keeps connections alive), strictly one request
   * after the other, every latency recorded.
   */
  const refreshScenario = async (path: string, json: boolean) => {
    const latencies: number[] = [];
    let errors = 0;
    const end = performance.now() + DURATION * 1000;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        let token = (await signIn()).refresh_token!;
        while (performance.now() < end) {
          const sent = performance.now();
          const response = await fetch(`${base}${path}`, {
            method: 'POST',
            headers: json ? { 'content-type': 'application/json', authorization: appAuth } : formHeaders(appAuth),
            body: json ? JSON.stringify({ refresh_token: token }) : form({ grant_type: 'refresh_token', refresh_token: token }),
          });
          const body = (await response.json()) as { refresh_token?: string };
          latencies.push(performance.now() - sent);
          if (response.status === 200 && body.refresh_token) token = body.refresh_token;
          else {
            errors += 1;
            token = (await signIn()).refresh_token!; // a new chain, so one error stays one error
          }
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
    return {
      rps: latencies.length / ((performance.now() - started) / 1000),
      p50: at(0.5),
      p99: at(0.99),
      errors,
      requests: latencies.length,
    };
  };
  let bareSigns: InProcessRate | undefined;
  const bareSignRate = async () => {
    if (bareSigns !== undefined) return bareSigns;
    const { privateKey } = await generateKeyPair('RS256');
    bareSigns = await bareRate(() =>
      new SignJWT({ scope: 'a' }).setProtectedHeader({ alg: 'RS256' }).setIssuedAt().setExpirationTime('5m').sign(privateKey),
    );
    return bareSigns;
  };
  for (const [name, path, json] of [
    ['refresh', '/token', false],
    ['refresh_endpoint', '/refresh', true],
  ] as const) {
    if (!chosen.includes(name)) continue;
    const ours = await withCpuOf(pid, () => refreshScenario(path, json));
    const bare = await bareSignRate();
    const reference = { name: `bare jose RS256 sign, ${cpus().length} cores`, rps: bare.rate, cpuMs: bare.cpuMsPerOperation };
    record(compared(name, ours, reference, name === 'refresh' ? { text: '>= 0.35x by CPU', ratio: 0.35, byCpu: true } : undefined));
  }

  /**
   * Token exchange: a user's token exchanged for one for the next service (verify, revocation
   * check, the user read, sign, an audit row), and an API key exchanged without a client (a lookup
   * by hash, the owner read, sign, an audit row). The reference is client_credentials measured
   * here right before: the cheapest token this issuer signs.
   */
  if (chosen.includes('token_exchange') || chosen.includes('api_key_exchange')) {
    const cheapest = await withCpuOf(pid, () =>
      drive({ url: `${base}/token`, method: 'POST', headers: formHeaders(machineAuth), body: form({ grant_type: 'client_credentials' }) }),
    );
    const reference = { name: 'client_credentials', rps: cheapest.rps, cpuMs: cheapest.cpuMsPerRequest };
    const exchange = { grant_type: TOKEN_EXCHANGE_GRANT, audience: AUDIENCE };
    if (chosen.includes('token_exchange')) {
      const subject = (await signIn()).access_token!;
      const body = form({ ...exchange, subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' });
      const gatewayAuth = basic(gateway.client_id, gateway.client_secret);
      record(
        compared(
          'token_exchange',
          await withCpuOf(pid, () => drive({ url: `${base}/token`, method: 'POST', headers: formHeaders(gatewayAuth), body })),
          reference,
        ),
      );
    }
    if (chosen.includes('api_key_exchange')) {
      const body = form({ ...exchange, subject_token: apiKey, subject_token_type: API_KEY_TOKEN_TYPE });
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      record(
        compared('api_key_exchange', await withCpuOf(pid, () => drive({ url: `${base}/token`, method: 'POST', headers, body })), reference),
      );
    }
  }

  if (chosen.includes('introspection')) {
    const token = (await post('/token', { grant_type: 'client_credentials' }, machineAuth)).access_token!;
    record({
      scenario: 'introspection',
      ...(await withCpuOf(pid, () =>
        drive({ url: `${base}/introspect`, method: 'POST', headers: formHeaders(machineAuth), body: form({ token }) }),
      )),
    });
  }

  if (chosen.includes('revocation')) {
    const tokens = await Promise.all(Array.from({ length: 200 }, async () => (await signIn()).access_token!));
    let next = 0;
    record({
      scenario: 'revocation',
      ...(await withCpuOf(pid, () =>
        drive({
          url: `${base}/revoke`,
          requests: [
            {
              method: 'POST',
              setupRequest: (request) => ({
                ...request,
                headers: formHeaders(appAuth),
                body: form({ token: tokens[next++ % tokens.length]! }),
              }),
            },
          ],
        }),
      )),
    });
  }

  if (chosen.includes('verifier')) {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'v', alg: 'RS256' }] };
    const token = await new SignJWT({ client_id: 'app', scope: 'a', sid: 's' })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'v' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('u')
      .setIssuedAt()
      .setExpirationTime('1h')
      .setJti('j')
      .sign(privateKey);
    // A loaded denylist: 10,000 revoked jtis and 10,000 cut-offs of every kind, none covering this token.
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const kinds = ['sub', 'client_id', 'sid', 'kid'] as const;
    const entries: RevocationEntry[] = [
      ...Array.from({ length: 10_000 }, (_, i) => ({ jti: `revoked-${i}`, expiresAt })),
      ...Array.from({ length: 10_000 }, (_, i) => ({ kind: kinds[i % 4]!, value: `other-${i}`, before: expiresAt - 3600, expiresAt })),
    ];
    let revocations: Pick<VerifierOptions, 'denylist' | 'revocations'>;
    if (redisUrl) {
      // The issuer marks its denylist complete when it fills it; a verifier trusts no set without the mark.
      const redis = new Redis(redisUrl);
      const filler = createRedisDenylist({ redis, keyPrefix: `${dbName}:`, logger: createLogger('silent') });
      await filler.refill(entries);
      await filler.close();
      await redis.quit();
      revocations = { denylist: { redis: redisUrl, prefix: `${dbName}:` } };
    } else {
      const table = new RevocationTable();
      table.addAll(entries);
      revocations = { revocations: { refusal: async (facts) => table.refusal(facts) } };
    }
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks, ...revocations });
    const localKeys = createLocalJWKSet(jwks);
    await verifier.verify(token);
    // The entries really are loaded: a token of a cut-off subject is refused.
    const covered = await new SignJWT({ client_id: 'app' })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'v' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('other-0')
      .setIssuedAt(expiresAt - 3600)
      .setExpirationTime('1h')
      .setJti('k')
      .sign(privateKey);
    if (
      await verifier.verify(covered).then(
        () => true,
        () => false,
      )
    )
      throw new Error('bench: the verifier did not load the cut-offs');
    const [ours, bare] = await alternatingRates(
      () => verifier.verify(token),
      () => jwtVerify(token, localKeys, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'], typ: 'at+jwt' }),
      1,
      DURATION,
    );
    await verifier.close();
    record({
      scenario: redisUrl ? 'verifier (Redis denylist: 10k jtis, 10k cut-offs)' : 'verifier (in-process table: 10k jtis, 10k cut-offs)',
      rps: ours,
      p50: 0,
      p99: 0,
      errors: 0,
      reference: 'bare jose.jwtVerify',
      referenceRps: bare,
      ratio: ours / bare,
      target: '>= 0.85x',
      met: ours / bare >= 0.85,
    });
  }

  if (chosen.includes('healthz_storm')) {
    const storm = drive({
      url: `${base}/token`,
      method: 'POST',
      headers: formHeaders(appAuth),
      body: form({ grant_type: 'password', username: 'bench', password: 'a wrong passphrase of length!' }),
    });
    const health = await drive({ url: `${base}/healthz`, connections: 2 });
    const stormResult = await storm;
    // The storm's answers are 400 invalid_grant by design; only the health checks must succeed.
    record({
      scenario: 'healthz during a login storm',
      ...health,
      reference: `storm: ${Math.round(stormResult.rps)} failed logins/s`,
      target: 'p99 < 50 ms',
      met: health.p99 < 50 && health.errors === 0,
    });
  }

  /**
   * The revocation feed's fan-out: FEED_STREAMS verifiers' streams open on one instance (from this
   * process, on loopback), then revocations one after the other; for each, the time from /revoke's
   * answer (the commit is before it) to the event at every stream. And the instance's memory per
   * stream: its RSS with the streams open, less before, over their number.
   */
  if (chosen.includes('feed_fanout')) {
    sampleRss();
    samplingRss = false;
    const streams = flags.quick ? 50 : 1000;
    const revocations = flags.quick ? 5 : 50;
    const reader = (
      await post(
        '/token',
        { grant_type: 'client_credentials', scope: 'revocations:read' },
        basic(feedReader.client_id, feedReader.client_secret),
      )
    ).access_token!;
    const tokens = await Promise.all(
      Array.from(
        { length: revocations },
        async () => (await post('/token', { grant_type: 'client_credentials' }, machineAuth)).access_token!,
      ),
    );
    const jtiOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
    const answeredAt = new Map<string, number>();
    const latencies: number[] = [];
    let errors = 0;
    const controller = new AbortController();
    const openStreams = (count: number) =>
      Promise.all(
        Array.from({ length: count }, async () => {
          const response = await fetch(`${base}/revocations/stream`, {
            headers: { Authorization: `Bearer ${reader}` },
            signal: controller.signal,
          });
          if (!response.ok || !response.body) throw new Error(`the feed answered ${response.status}`);
          const reading = (async () => {
            const decoder = new TextDecoder();
            for await (const chunk of response.body!) {
              const at = performance.now();
              for (const [, data] of decoder.decode(chunk as Uint8Array, { stream: true }).matchAll(/event: revocations\ndata: (.*)\n/g)) {
                for (const { jti } of JSON.parse(data!) as { jti: string }[]) {
                  const answered = answeredAt.get(jti);
                  if (answered !== undefined) latencies.push(at - answered);
                }
              }
            }
          })().catch(() => {});
          // An object, not the promise itself: awaiting this must not wait for the stream to end.
          return { reading };
        }),
      );
    // Memory per stream as a slope: half the streams, then the other half, so that what the first
    // connections cost once (the heap's young generation growing, buffers) does not count per stream.
    const settle = () => new Promise((resolve) => setTimeout(resolve, 1000));
    const half = Math.floor(streams / 2);
    const opened = await openStreams(half);
    await settle();
    const rssAtHalf = rssMbOf(pid);
    opened.push(...(await openStreams(streams - half)));
    await settle();
    const rssAtAll = rssMbOf(pid);
    const started = performance.now();
    for (const token of tokens) {
      const sent = await fetch(`${base}/revoke`, { method: 'POST', headers: formHeaders(machineAuth), body: form({ token }) });
      if (sent.status !== 200) errors += 1;
      answeredAt.set(jtiOf(token), performance.now());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const expected = streams * revocations;
    const deadline = performance.now() + 10_000;
    while (latencies.length < expected && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    await Promise.all(opened.map((stream) => stream.reading));
    latencies.sort((a, b) => a - b);
    const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
    const missing = expected - latencies.length;
    record({
      scenario: `revocation feed: ${streams} streams, ${revocations} revocations (ms from /revoke's answer to each stream)`,
      rps: latencies.length / ((performance.now() - started) / 1000),
      p50: at(0.5),
      p99: at(0.99),
      errors: errors + missing,
      target: 'p99 < 1000 ms',
      met: at(0.99) < 1000 && errors + missing === 0,
    });
    const perStreamKb = ((rssAtAll - rssAtHalf) * 1024) / (streams - half);
    record({
      scenario: 'revocation feed: issuer memory per stream (KB)',
      rps: Math.round(perStreamKb * 10) / 10,
      p50: 0,
      p99: 0,
      errors: 0,
      target: '< 50 KB',
      met: perStreamKb < 50,
    });
  }

  /**
   * What tracing costs: client_credentials at a second issuer process exporting every span over
   * OTLP/HTTP to a sink in this process (which reads and drops them), against the first, without
   * tracing, measured right before on the same database.
   */
  if (chosen.includes('tracing')) {
    let spansReceived = 0;
    const sink = createServer((request, response) => {
      request.on('data', () => {});
      request.on('end', () => {
        spansReceived += 1;
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const traced = await host.listen(['dist/main.js'], {
      NODE_OPTIONS: issuerNodeOptions,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    });
    const clientCredentials = (at: string) => () =>
      drive({ url: `${at}/token`, method: 'POST', headers: formHeaders(machineAuth), body: form({ grant_type: 'client_credentials' }) });
    const off = await withCpuOf(pid, clientCredentials(base));
    const on = await withCpuOf(traced.pid, clientCredentials(`http://127.0.0.1:${traced.port}`));
    traced.child.kill('SIGTERM');
    sink.close();
    if (spansReceived === 0) throw new Error('bench: the traced issuer exported nothing');
    record(
      compared(`client_credentials, traced (OTLP, ${spansReceived} exports)`, on, {
        name: 'client_credentials, not traced',
        rps: off.rps,
        cpuMs: off.cpuMsPerRequest,
      }),
    );
  }

  if (chosen.includes('algorithms')) {
    const clientCredentials = () =>
      drive({ url: `${base}/token`, method: 'POST', headers: formHeaders(machineAuth), body: form({ grant_type: 'client_credentials' }) });
    await benchAlgorithms({
      environment,
      issuer: ISSUER,
      audience: AUDIENCE,
      duration: DURATION,
      driveClientCredentials: () => withCpuOf(pid, clientCredentials),
      oneToken: async () => (await post('/token', { grant_type: 'client_credentials' }, machineAuth)).access_token!,
      bareRate,
      record,
    });
  }

  clearInterval(rssTimer);
  // After the feed's streams the process holds their memory a while yet: the peak is the token paths'.
  sampleRss();
  record({
    scenario: 'issuer peak RSS (MB)',
    rps: Math.round(peakRssMb),
    ...(peakRssScenario ? { reference: `during ${peakRssScenario}` } : {}),
    p50: 0,
    p99: 0,
    errors: 0,
    target: '< 200 MB',
    met: peakRssMb < 200,
  });
} finally {
  await host.stopAll();
  await cluster?.close();
  if (admin) {
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (redisUrl) {
    // Every key under this run's prefix: the denylist and the failed-login and rate counters.
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${dbName}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
}

// ---------- report ----------
const description = `${DURATION} s per scenario, ${CONNECTIONS} connections, ${databaseAdmin ? 'PostgreSQL' : 'embedded PGlite'}${redisUrl ? ' + Redis' : ''}, issuer from ${flags['from-source'] ? 'src/ (tsx)' : 'dist/'} with NODE_OPTIONS="${issuerNodeOptions}" (as deploy/Dockerfile).`;
report(rows, {
  description,
  out: flags.out!,
  details: {
    duration: DURATION,
    connections: CONNECTIONS,
    database: databaseAdmin ? 'postgres' : 'embedded',
    redis: Boolean(redisUrl),
    issuerNodeOptions,
  },
});
