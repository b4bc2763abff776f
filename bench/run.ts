// npm run bench: the issuer over HTTP (autocannon, keep-alive) next to its references, measured in
// one run on one machine; targets are ratios. Flags: --quick, --duration S, --connections N,
// --scenario a,b, --out FILE, --cpu-prof DIR. PostgreSQL and Redis from BENCH_DATABASE_URL /
// BENCH_REDIS_URL, else the embedded mode. Not a test: it reports, it never fails on a number.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import autocannon from 'autocannon';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { createVerifier } from '../src/verifier/index.js';
import { imageNodeOptions } from './image-node-options.js';

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
  },
});
const DURATION = Number(flags.duration ?? (flags.quick ? 2 : 10));
const CONNECTIONS = Number(flags.connections ?? (flags.quick ? 8 : 32));
const ALL = ['client_credentials', 'jwks', 'password', 'refresh', 'refresh_endpoint', 'introspection', 'revocation', 'verifier', 'healthz_storm'];
const chosen = flags.scenario ? flags.scenario.split(',') : ALL;
for (const name of chosen) if (!ALL.includes(name)) throw new Error(`unknown scenario ${name}; one of ${ALL.join(', ')}`);

const ISSUER = 'http://issuer.bench';
const AUDIENCE = 'https://api.bench';
const PASSWORD = 'a benchmark passphrase of length';
const ARGON2 = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

interface Row {
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  reference?: string;
  referenceRps?: number;
  ratio?: number;
  target?: string;
  met?: boolean;
  /** CPU time (user + system, all threads) the issuer process spent per request: steadier than
   * req/s on a shared machine, and what a change to the request path moves. */
  cpuMsPerRequest?: number;
}
const rows: Row[] = [];
const children: ChildProcess[] = [];
let peakRssMb = 0;

// ---------- the system under test ----------
const databaseAdmin = process.env.BENCH_DATABASE_URL;
const redisUrl = process.env.BENCH_REDIS_URL;
const dbName = `token_issuer_bench_${randomBytes(4).toString('hex')}`;
const logDir = mkdtempSync(join(tmpdir(), 'token-issuer-bench-logs-'));
const dataDir = databaseAdmin ? undefined : mkdtempSync(join(tmpdir(), 'token-issuer-bench-'));
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  ISSUER,
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  // The login storm must reach argon2, not the throttle.
  LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000000',
  LOGIN_MAX_FAILURES_PER_IP: '1000000',
  // Every request comes from 127.0.0.1: the per-IP limits would measure themselves.
  INTROSPECTION_RATE_LIMIT_PER_IP: '1000000',
  ...(databaseAdmin ? { DATABASE_URL: withDatabase(databaseAdmin, dbName) } : { DATA_DIR: dataDir }),
  ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `${dbName}:` } : {}),
};

// Measured as deployed: with the container image's Node options.
const issuerNodeOptions = imageNodeOptions();

function withDatabase(admin: string, name: string) {
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

function runCli(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/token-issuer.js', ...args], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stdin.end(input ?? '');
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`token-issuer ${args.join(' ')} exited ${code}`))));
  });
}

/**
 * Starts a process and resolves with its port from its "listening" line. Its output goes to a file,
 * as a container's log driver would take it: a pipe read by this process, busy with the load
 * generator, fills up and makes every log write of the issuer wait.
 */
function listen(args: string[], extraEnv: NodeJS.ProcessEnv): Promise<{ port: number; child: ChildProcess }> {
  const logFile = join(logDir, `${children.length}.log`);
  const output = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, { env: { ...env, ...extraEnv, PORT: '0' }, stdio: ['ignore', output, 'inherit'] });
  closeSync(output);
  children.push(child);
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const match = /"port":(\d+)[^\n]*"msg":"listening"/.exec(readFileSync(logFile, 'utf8'));
      if (!match) return;
      clearInterval(poll);
      resolve({ port: Number(match[1]), child });
    }, 50);
    child.on('exit', (code) => {
      clearInterval(poll);
      reject(new Error(`${args.join(' ')} exited ${code}`));
    });
  });
}

function sampleRss(pid: number): void {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    peakRssMb = Math.max(peakRssMb, kb / 1024);
  } catch {
    // not on Linux, or gone
  }
}

// ---------- measuring ----------
type Load = Parameters<typeof autocannon>[0];
interface Measured {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}
async function drive(options: Load): Promise<Measured> {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION, ...options });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
    requests: result.requests.total,
  };
}

/** utime + stime of a process, in ms, from /proc (Linux); undefined elsewhere. */
function cpuMsOf(pid: number): number | undefined {
  try {
    // The fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux architecture Node runs on

/** Runs a load against a server process and adds that process's CPU time per request to its result. */
async function withCpuOf(pid: number, load: () => Promise<Measured>): Promise<Measured & { cpuMsPerRequest?: number }> {
  const before = cpuMsOf(pid);
  const result = await load();
  const after = cpuMsOf(pid);
  if (before === undefined || after === undefined || result.requests === 0) return result;
  return { ...result, cpuMsPerRequest: (after - before) / result.requests };
}

/** Runs `operation` with `concurrency` in flight for `ms`; how many completed, in how long. */
async function runFor(operation: () => Promise<unknown>, concurrency: number, ms: number): Promise<{ count: number; ms: number }> {
  const started = performance.now();
  const end = started + ms;
  let count = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await operation();
        count += 1;
      }
    }),
  );
  return { count, ms: performance.now() - started };
}

/** Runs `operation` with `concurrency` in flight for the duration; operations per second. */
async function inProcessRate(operation: () => Promise<unknown>, concurrency: number): Promise<number> {
  const { count, ms } = await runFor(operation, concurrency, DURATION * 1000);
  return count / (ms / 1000);
}

/**
 * Two in-process rates, measured in alternating half-second slices over the duration each: a
 * shared machine's drift then weighs on both alike, not on whichever would have run second.
 */
async function alternatingRates(first: () => Promise<unknown>, second: () => Promise<unknown>, concurrency: number): Promise<[number, number]> {
  const totals = [first, second].map((operation) => ({ operation, count: 0, ms: 0 }));
  while (totals[0]!.ms < DURATION * 1000) {
    for (const total of totals) {
      const slice = await runFor(total.operation, concurrency, 500);
      total.count += slice.count;
      total.ms += slice.ms;
    }
  }
  return [totals[0]!.count / (totals[0]!.ms / 1000), totals[1]!.count / (totals[1]!.ms / 1000)];
}

/**
 * The reference's own CPU per request, beside its rate. When the load generator, on the same cores,
 * is what limits both servers, rates come out alike; CPU per request still shows which server
 * would answer more with the machine to itself.
 */
function cpuNote(measured: { cpuMsPerRequest?: number }): string {
  return measured.cpuMsPerRequest === undefined ? '' : `, CPU ${measured.cpuMsPerRequest.toFixed(2)} ms/req`;
}

function record(row: Row) {
  rows.push(row);
  const ratio = row.ratio === undefined ? '' : ` ratio ${row.ratio.toFixed(2)}${row.target ? ` (target ${row.target}: ${row.met ? 'met' : 'NOT met'})` : ''}`;
  const cpu = row.cpuMsPerRequest === undefined ? '' : ` cpu ${row.cpuMsPerRequest.toFixed(2)} ms/req`;
  console.error(`  ${row.scenario}: ${Math.round(row.rps)}/s p99 ${row.p99} ms errors ${row.errors}${cpu}${ratio}`);
}

const form = (body: Record<string, string>) => new URLSearchParams(body).toString();
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

// ---------- run ----------
const admin = databaseAdmin ? postgres(databaseAdmin, { max: 1, onnotice: () => {} }) : undefined;
try {
  if (admin) await admin.unsafe(`create database ${dbName}`);
  await runCli(['migrate']);
  const machine = JSON.parse(await runCli(['clients', 'create', '--name', 'machine', '--grants', 'client_credentials', '--scopes', 'items:read introspect', '--audiences', AUDIENCE])) as { client_id: string; client_secret: string };
  const app = JSON.parse(await runCli(['clients', 'create', '--name', 'app', '--grants', 'password,refresh_token', '--scopes', 'items:read', '--audiences', AUDIENCE])) as { client_id: string; client_secret: string };
  await runCli(['users', 'create', '--username', 'bench', '--email', 'bench@example.com', '--password-stdin'], PASSWORD);

  if (!flags['from-source'] && !existsSync('dist/main.js')) throw new Error('bench: run `npm run build` first (or pass --from-source)');
  const profiling = flags['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', flags['cpu-prof']] : [];
  const issuer = await listen([...profiling, ...(flags['from-source'] ? ['--import', 'tsx', 'src/main.ts'] : ['dist/main.js'])], { NODE_OPTIONS: issuerNodeOptions });
  const base = `http://127.0.0.1:${issuer.port}`;
  const pid = issuer.child.pid!;
  const rssTimer = setInterval(() => sampleRss(pid), 200);
  const machineAuth = basic(machine.client_id, machine.client_secret);
  const appAuth = basic(app.client_id, app.client_secret);
  const formHeaders = (authorization: string) => ({ 'content-type': 'application/x-www-form-urlencoded', authorization });
  const post = async (path: string, body: Record<string, string>, authorization: string) =>
    (await fetch(`${base}${path}`, { method: 'POST', headers: formHeaders(authorization), body: form(body) })).json() as Promise<Record<string, string>>;
  const signIn = () => post('/token', { grant_type: 'password', username: 'bench', password: PASSWORD }, appAuth);

  let reference: { port: number; child: ChildProcess } | undefined;
  const referenceSecret = randomBytes(24).toString('base64url');
  if (chosen.includes('client_credentials') || chosen.includes('jwks')) {
    reference = await listen(['--import', 'tsx', 'bench/reference-oidc-provider.ts'], { CLIENT_SECRET: referenceSecret });
  }
  console.error(`bench: ${databaseAdmin ? 'PostgreSQL' : 'embedded PGlite'}${redisUrl ? ' + Redis' : ' (no Redis)'}, ${CONNECTIONS} connections, ${DURATION} s per scenario`);

  if (chosen.includes('client_credentials')) {
    const body = form({ grant_type: 'client_credentials' });
    const ours = await withCpuOf(pid, () => drive({ url: `${base}/token`, method: 'POST', headers: formHeaders(machineAuth), body }));
    const theirs = await withCpuOf(reference!.child.pid!, () => drive({ url: `http://127.0.0.1:${reference!.port}/token`, method: 'POST', headers: formHeaders(basic('bench', referenceSecret)), body: form({ grant_type: 'client_credentials', scope: 'items:read' }) }));
    const ratio = ours.rps / theirs.rps;
    record({ scenario: 'client_credentials', ...ours, reference: `node-oidc-provider (p99 ${theirs.p99} ms, errors ${theirs.errors}${cpuNote(theirs)})`, referenceRps: theirs.rps, ratio, target: '>= 1.5x, p99 no worse', met: ratio >= 1.5 && ours.p99 <= theirs.p99 && theirs.errors === 0 });
  }

  if (chosen.includes('jwks')) {
    const ours = await withCpuOf(pid, () => drive({ url: `${base}/.well-known/jwks.json` }));
    const theirs = await withCpuOf(reference!.child.pid!, () => drive({ url: `http://127.0.0.1:${reference!.port}/jwks` }));
    const ratio = ours.rps / theirs.rps;
    record({ scenario: 'jwks', ...ours, reference: `node-oidc-provider${cpuNote(theirs)}`, referenceRps: theirs.rps, ratio, target: '>= 1.5x', met: ratio >= 1.5 });
  }

  if (chosen.includes('password')) {
    const ours = await withCpuOf(pid, () => drive({ url: `${base}/token`, method: 'POST', headers: formHeaders(appAuth), body: form({ grant_type: 'password', username: 'bench', password: PASSWORD }) }));
    const stored = await hash(PASSWORD, ARGON2);
    const bare = await inProcessRate(() => verify(stored, PASSWORD), cpus().length * 2);
    const ratio = ours.rps / bare;
    record({ scenario: 'password', ...ours, reference: `bare argon2id verify, ${cpus().length} cores`, referenceRps: bare, ratio, target: '>= 0.85x', met: ratio >= 0.85 });
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
    return { rps: latencies.length / ((performance.now() - started) / 1000), p50: at(0.5), p99: at(0.99), errors, requests: latencies.length };
  };
  let bareSigns: number | undefined;
  const bareSignRate = async () => {
    if (bareSigns !== undefined) return bareSigns;
    const { privateKey } = await generateKeyPair('RS256');
    bareSigns = await inProcessRate(() => new SignJWT({ scope: 'a' }).setProtectedHeader({ alg: 'RS256' }).setIssuedAt().setExpirationTime('5m').sign(privateKey), cpus().length * 2);
    return bareSigns;
  };
  for (const [name, path, json] of [['refresh', '/token', false], ['refresh_endpoint', '/refresh', true]] as const) {
    if (!chosen.includes(name)) continue;
    const ours = await withCpuOf(pid, () => refreshScenario(path, json));
    const bare = await bareSignRate();
    const ratio = ours.rps / bare;
    record({ scenario: name, ...ours, reference: `bare jose RS256 sign, ${cpus().length} cores`, referenceRps: bare, ratio, target: name === 'refresh' ? '>= 0.25x' : undefined, met: name === 'refresh' ? ratio >= 0.25 : undefined });
  }

  if (chosen.includes('introspection')) {
    const token = (await post('/token', { grant_type: 'client_credentials' }, machineAuth)).access_token!;
    record({ scenario: 'introspection', ...(await withCpuOf(pid, () => drive({ url: `${base}/introspect`, method: 'POST', headers: formHeaders(machineAuth), body: form({ token }) }))) });
  }

  if (chosen.includes('revocation')) {
    const tokens = await Promise.all(Array.from({ length: 200 }, async () => (await signIn()).access_token!));
    let next = 0;
    record({
      scenario: 'revocation',
      ...(await withCpuOf(pid, () =>
        drive({
          url: `${base}/revoke`,
          requests: [{ method: 'POST', setupRequest: (request) => ({ ...request, headers: formHeaders(appAuth), body: form({ token: tokens[next++ % tokens.length]! }) }) }],
        }),
      )),
    });
  }

  if (chosen.includes('verifier')) {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'v', alg: 'RS256' }] };
    const token = await new SignJWT({ client_id: 'app', scope: 'a' }).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'v' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('u').setIssuedAt().setExpirationTime('1h').setJti('j').sign(privateKey);
    const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks, ...(redisUrl ? { denylist: { redis: redisUrl, prefix: `${dbName}:` } } : {}) });
    const localKeys = createLocalJWKSet(jwks);
    await verifier.verify(token);
    const [ours, bare] = await alternatingRates(
      () => verifier.verify(token),
      () => jwtVerify(token, localKeys, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'], typ: 'at+jwt' }),
      1,
    );
    await verifier.close();
    record({ scenario: redisUrl ? 'verifier (with denylist)' : 'verifier (no Redis: no denylist)', rps: ours, p50: 0, p99: 0, errors: 0, reference: 'bare jose.jwtVerify', referenceRps: bare, ratio: ours / bare, target: '>= 0.8x', met: ours / bare >= 0.8 });
  }

  if (chosen.includes('healthz_storm')) {
    const storm = drive({ url: `${base}/token`, method: 'POST', headers: formHeaders(appAuth), body: form({ grant_type: 'password', username: 'bench', password: 'a wrong passphrase of length!' }) });
    const health = await drive({ url: `${base}/healthz`, connections: 2 });
    const stormResult = await storm;
    // The storm's answers are 400 invalid_grant by design; only the health checks must succeed.
    record({ scenario: 'healthz during a login storm', ...health, reference: `storm: ${Math.round(stormResult.rps)} failed logins/s`, target: 'p99 < 50 ms', met: health.p99 < 50 && health.errors === 0 });
  }

  clearInterval(rssTimer);
  sampleRss(pid);
  record({ scenario: 'issuer peak RSS (MB)', rps: Math.round(peakRssMb), p50: 0, p99: 0, errors: 0, target: '< 200 MB', met: peakRssMb < 200 });
} finally {
  for (const child of children) child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  if (admin) {
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  rmSync(logDir, { recursive: true, force: true });
  if (redisUrl) {
    // Every key under this run's prefix: the denylist and the failed-login and rate counters.
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${dbName}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
}

// ---------- report ----------
const machineInfo = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
const fmt = (value: number | undefined, digits = 0) => (value === undefined ? '' : value.toFixed(digits));
console.log(`Machine: ${machineInfo.cores} cores, ${machineInfo.cpu}, ${machineInfo.memoryGiB} GiB, Node ${machineInfo.node}. ${DURATION} s per scenario, ${CONNECTIONS} connections, ${databaseAdmin ? 'PostgreSQL' : 'embedded PGlite'}${redisUrl ? ' + Redis' : ''}, issuer from ${flags['from-source'] ? 'src/ (tsx)' : 'dist/'} with NODE_OPTIONS="${issuerNodeOptions}" (as deploy/Dockerfile).\n`);
console.log('| scenario | req/s | p50 ms | p99 ms | errors | issuer CPU ms/req | reference | reference/s | ratio | target | met? |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) {
  const met = row.met === undefined ? '' : row.met ? 'yes' : 'no';
  const result = row.errors > 0 ? `${fmt(row.rps)} (not a result: errors)` : fmt(row.rps);
  console.log(`| ${row.scenario} | ${result} | ${fmt(row.p50)} | ${fmt(row.p99)} | ${row.errors} | ${fmt(row.cpuMsPerRequest, 2)} | ${row.reference ?? ''} | ${fmt(row.referenceRps)} | ${fmt(row.ratio, 2)} | ${row.target ?? ''} | ${met} |`);
}
mkdirSync(dirname(flags.out!), { recursive: true });
writeFileSync(flags.out!, `${JSON.stringify({ machine: machineInfo, duration: DURATION, connections: CONNECTIONS, database: databaseAdmin ? 'postgres' : 'embedded', redis: Boolean(redisUrl), issuerNodeOptions, rows }, null, 2)}\n`);
