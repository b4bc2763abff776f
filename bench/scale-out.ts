// Token-endpoint throughput with one issuer replica, then two, sharing PostgreSQL and Redis on this
// machine (client_credentials: one client lookup and one RS256 signature per token). The load comes
// from autocannon in this process, spread evenly over the replicas. A measurement, not a test: on a
// 2-core machine the replicas, PostgreSQL and the load generator share the same two cores.
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { createProcessHost } from './processes.js';

const admin = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

const name = `token_issuer_bench_${randomBytes(4).toString('hex')}`;
const url = new URL(admin);
url.pathname = `/${name}`;
const host = createProcessHost({
  ...process.env,
  DATABASE_URL: url.toString(),
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: `${name}:`,
  KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  LOG_LEVEL: 'info',
  HOST: '127.0.0.1',
});

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
try {
  await host.cli(['migrate']);
  const client = JSON.parse(
    await host.cli(['clients', 'create', '--name', 'bench', '--grants', 'client_credentials', '--audiences', 'https://api.bench']),
  ) as { client_id: string; client_secret: string };
  const body = new URLSearchParams({ grant_type: 'client_credentials', ...client }).toString();

  const first = await host.listen(['dist/main.js']);
  await load([first.port], body); // warm-up
  const one = await load([first.port], body);
  const second = await host.listen(['dist/main.js']);
  await load([first.port, second.port], body); // warm-up
  const two = await load([first.port, second.port], body);

  console.log(
    `scale-out: POST /token (client_credentials), ${CONNECTIONS} connections, ${SECONDS} s, PostgreSQL + Redis, Node ${process.version}`,
  );
  console.log(`  1 replica : ${Math.round(one).toString().padStart(6)} tokens/s`);
  console.log(`  2 replicas: ${Math.round(two).toString().padStart(6)} tokens/s  (x${(two / one).toFixed(2)})`);
} finally {
  await host.stopAll();
  await sql.unsafe(`drop database if exists ${name} with (force)`);
  await sql.end();
}
