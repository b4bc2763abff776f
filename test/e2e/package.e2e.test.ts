import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIsCurrent } from '../../scripts/build-freshness.mjs';
import { clientToken } from '../support/api-client.js';
import { post } from '../support/oauth-client.js';
import { freePort, repositoryRoot, runCommand, startServer } from '../support/processes.js';
import { seedClient } from '../support/seed.js';
import { adminDatabaseUrl, createTestDatabase, testRedisUrl } from '../support/test-database.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** What a downstream service may pay on disk for the verifier: the issue that split it out set this. */
const MAX_INSTALLED_BYTES = 5 * 1024 * 1024;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'token-issuer-packages-'));
  // Packed as built: the build runs here only when the sources changed since the last one (in CI,
  // `npm ci` has just built them), rather than once per pack.
  if (!buildIsCurrent(repositoryRoot)) {
    const built = await runCommand(npm, ['run', 'build', '--silent'], {});
    expect(built.code, built.stderr).toBe(0);
  }
}, 240_000);
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A consumer of the library, as another team writes one: plain Node, no TypeScript, no tsx. */
const consumerOf = (specifier: string) => `
import { createVerifier, requireAuth, VerificationError } from '${specifier}';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

const { publicKey, privateKey } = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'RS256' };
const verifier = createVerifier({ issuer: 'https://issuer.example', audience: 'https://api.example', jwks: { keys: [jwk] } });
const token = await new SignJWT({ client_id: 'app', scope: 'a b', roles: ['admin'] })
  .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k' })
  .setIssuer('https://issuer.example').setAudience('https://api.example').setSubject('u1')
  .setIssuedAt().setExpirationTime('5m').setJti('j1')
  .sign(privateKey);
const principal = await verifier.verify(token);
let refused;
try { await verifier.verify('nope'); } catch (error) { refused = error instanceof VerificationError ? error.code : 'other'; }
console.log(JSON.stringify({ sub: principal.sub, scope: principal.scope, roles: principal.roles, refused, middleware: typeof requireAuth }));
`;
const expectedOutput = { sub: 'u1', scope: ['a', 'b'], roles: ['admin'], refused: 'invalid_token', middleware: 'function' };

/** `npm pack` of this repository (no workspace) or of one workspace; returns the tarball's path. */
async function pack(workspace?: string): Promise<string> {
  const destination = await mkdtemp(join(scratch, 'pack-'));
  const args = ['pack', ...(workspace ? ['-w', workspace] : []), '--pack-destination', destination, '--ignore-scripts', '--silent'];
  const packed = await runCommand(npm, args, {});
  expect(packed.code, packed.stderr).toBe(0);
  const tarball = (await readdir(destination)).find((file) => file.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  return join(destination, tarball!);
}

/** An empty project that installs the given tarballs (production dependencies only) and runs `script`. */
async function installAndRun(tarballs: string[], script: string): Promise<{ folder: string; output: unknown }> {
  const folder = await mkdtemp(join(scratch, 'consumer-'));
  await writeFile(join(folder, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  await writeFile(join(folder, 'check.mjs'), script);
  const installed = await runCommand(
    npm,
    ['install', ...tarballs, '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
    {},
    undefined,
    folder,
  );
  expect(installed.code, installed.stderr).toBe(0);
  const run = await runCommand(process.execPath, ['check.mjs'], {}, undefined, folder);
  expect(run.code, run.stderr).toBe(0);
  return { folder, output: JSON.parse(run.stdout) };
}

async function bytesUnder(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await bytesUnder(join(path, entry));
  return total;
}

describe('@token-issuer/verifier as an installed package', () => {
  it('installs alone with jose as its one dependency, under 5 MB, and runs from plain Node with types', async () => {
    // The script would import jose itself: it comes with the verifier, so no install of its own.
    const { folder, output } = await installAndRun([await pack('@token-issuer/verifier')], consumerOf('@token-issuer/verifier'));
    expect(output).toEqual(expectedOutput);

    const modules = join(folder, 'node_modules');
    const installedPackages = (await readdir(modules)).filter((name) => !name.startsWith('.'));
    expect(installedPackages.sort()).toEqual(['@token-issuer', 'jose']);
    const size = await bytesUnder(modules);
    expect(size, `${(size / 1024 / 1024).toFixed(2)} MB installed`).toBeLessThan(MAX_INSTALLED_BYTES);

    const installed = join(modules, '@token-issuer', 'verifier');
    expect(existsSync(join(installed, 'dist', 'index.d.ts'))).toBe(true);
    expect(existsSync(join(installed, 'README.md'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false); // compiled JavaScript only
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies)).toEqual(['jose']);
    // Each peer is optional: Hono for the middleware, ioredis for the denylist, the OpenTelemetry API for spans.
    expect(manifest.peerDependenciesMeta).toEqual({
      hono: { optional: true },
      ioredis: { optional: true },
      '@opentelemetry/api': { optional: true },
    });
  }, 240_000);

  it('is still importable as token-issuer/verifier from the packed issuer package', async () => {
    const { folder } = await installAndRun([await pack('@token-issuer/verifier')], 'console.log("{}")');
    // The issuer's own tarball unpacked where npm would put it. Its other dependencies (the
    // database, argon2, ...) are not installed: token-issuer/verifier needs none of them.
    const issuer = join(folder, 'node_modules', 'token-issuer');
    await mkdir(issuer);
    const unpacked = await runCommand('tar', ['-xzf', await pack(), '-C', issuer, '--strip-components=1'], {});
    expect(unpacked.code, unpacked.stderr).toBe(0);
    expect(existsSync(join(issuer, 'dist', 'verifier.d.ts'))).toBe(true);
    expect(existsSync(join(issuer, 'src'))).toBe(false);

    await writeFile(join(folder, 'old-path.mjs'), consumerOf('token-issuer/verifier'));
    const run = await runCommand(process.execPath, ['old-path.mjs'], {}, undefined, folder);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(expectedOutput);
  }, 240_000);
});

/** The TypeScript example of the verifier's README, the one it says runs as written. */
function readmeExample(): string {
  const readme = readFileSync(join(repositoryRoot, 'packages', 'verifier', 'README.md'), 'utf8');
  const after = readme.slice(readme.indexOf('This example runs as written'));
  return /```ts\n([\s\S]*?)```/.exec(after)![1]!;
}

describe.each([
  ['the embedded issuer', 'embedded' as const],
  ['an issuer on PostgreSQL and Redis', undefined],
])("the verifier README's Hono example, installed from the packed tarball, against %s", (_name, kind) => {
  it.runIf(kind === 'embedded' || (adminDatabaseUrl && testRedisUrl))(
    'accepts the issuer’s tokens, and refuses them once revoked where there is a denylist',
    async () => {
      const folder = await mkdtemp(join(scratch, 'hono-example-'));
      await writeFile(join(folder, 'package.json'), JSON.stringify({ name: 'orders-api', private: true, type: 'module' }));
      await writeFile(join(folder, 'server.ts'), readmeExample());
      const { dependencies } = JSON.parse(readFileSync(join(repositoryRoot, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
      };
      const peers = ['hono', '@hono/node-server', 'ioredis'].map((name) => `${name}@${dependencies[name]}`);
      const args = [
        'install',
        await pack('@token-issuer/verifier'),
        ...peers,
        '--omit=dev',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
      ];
      const installed = await runCommand(npm, args, {}, undefined, folder);
      expect(installed.code, installed.stderr).toBe(0);

      const database = await createTestDatabase({ embedded: kind === 'embedded' });
      const issuerPort = await freePort();
      const issuerUrl = `http://127.0.0.1:${issuerPort}`;
      const billing = await seedClient(database.env, [
        '--name',
        'billing',
        '--grants',
        'client_credentials',
        '--scopes',
        'orders:read',
        '--audiences',
        'https://orders.example.com',
      ]);
      const issuer = await startServer({ ...database.env, ISSUER: issuerUrl, PORT: String(issuerPort) });
      const apiPort = await freePort();
      const redis = database.env.REDIS_URL ? { REDIS_URL: database.env.REDIS_URL, REDIS_KEY_PREFIX: database.env.REDIS_KEY_PREFIX! } : {};
      const api = spawn(process.execPath, ['server.ts'], {
        cwd: folder,
        env: { PATH: process.env.PATH, ISSUER: issuerUrl, PORT: String(apiPort), ...redis },
        stdio: 'ignore',
      });
      const orders = async (token: string) =>
        (await fetch(`http://127.0.0.1:${apiPort}/orders`, { headers: { Authorization: `Bearer ${token}` } }).catch(() => undefined))
          ?.status;
      try {
        const token = String((await clientToken(issuer.url, billing)).body.access_token);
        await expect.poll(() => orders(token), { timeout: 15_000, interval: 200 }).toBe(200);
        const body = (await (
          await fetch(`http://127.0.0.1:${apiPort}/orders`, { headers: { Authorization: `Bearer ${token}` } })
        ).json()) as Record<string, unknown>;
        expect(body).toMatchObject({ clientId: billing.client_id, scope: ['orders:read'] });
        expect(await orders('not-a-token')).toBe(401);
        if (database.env.REDIS_URL) {
          const revoked = await post(`${issuer.url}/revoke`, { token, client_id: billing.client_id, client_secret: billing.client_secret });
          expect(revoked.status).toBe(200);
          await expect.poll(() => orders(token), { timeout: 2_000, interval: 50 }).toBe(401);
        }
      } finally {
        api.kill();
        await issuer.stop();
        await database.drop();
      }
    },
    240_000,
  );
});
