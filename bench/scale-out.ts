// Token-endpoint throughput with one issuer replica, then two, sharing PostgreSQL and Redis on this
// machine (client_credentials: one client lookup and one RS256 signature per token). The load comes
// from autocannon in this process, spread evenly over the replicas. A measurement, not a test: on a
// 2-core machine the replicas, PostgreSQL and the load generator share the same two cores.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import postgres from 'postgres';

const admin = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

const name = `token_issuer_bench_${randomBytes(4).toString('hex')}`;
const url = new URL(admin);
url.pathname = `/${name}`;
const env = {
  ...process.env,
  DATABASE_URL: url.toString(),
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: `${name}:`,
  KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
};

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

function startIssuer(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['dist/main.js'], { env: { ...env, PORT: String(port), LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('"msg":"listening"')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`issuer exited ${code}`)));
  });
}

async function load(ports: number[], body: string): Promise<number> {
  const results = await Promise.all(
    ports.map((port) =>
      autocannon({
        url: `http://127.0.0.1:${port}/token`,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        connections: Math.max(1, Math.round(CONNECTIONS / ports.length)),
        duration: SECONDS,
      }),
    ),
  );
  const failures = results.reduce((sum, result) => sum + result.non2xx + result.errors, 0);
  if (failures > 0) throw new Error(`${failures} requests failed`);
  return results.reduce((sum, result) => sum + result.requests.average, 0);
}

const sql = postgres(admin, { max: 1, onnotice: () => {} });
await sql.unsafe(`create database ${name}`);
const issuers: ChildProcess[] = [];
try {
  await run(['bin/token-issuer.js', 'migrate']);
  const client = JSON.parse(
    await run(['bin/token-issuer.js', 'clients', 'create', '--name', 'bench', '--grants', 'client_credentials', '--audiences', 'https://api.bench']),
  ) as { client_id: string; client_secret: string };
  const body = new URLSearchParams({ grant_type: 'client_credentials', ...client }).toString();

  issuers.push(await startIssuer(3901));
  await load([3901], body); // warm-up
  const one = await load([3901], body);
  issuers.push(await startIssuer(3902));
  await load([3901, 3902], body); // warm-up
  const two = await load([3901, 3902], body);

  console.log(`scale-out: POST /token (client_credentials), ${CONNECTIONS} connections, ${SECONDS} s, PostgreSQL + Redis, Node ${process.version}`);
  console.log(`  1 replica : ${Math.round(one).toString().padStart(6)} tokens/s`);
  console.log(`  2 replicas: ${Math.round(two).toString().padStart(6)} tokens/s  (x${(two / one).toFixed(2)})`);
} finally {
  for (const issuer of issuers) issuer.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await sql.unsafe(`drop database if exists ${name} with (force)`);
  await sql.end();
}
