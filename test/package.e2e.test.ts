import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from './support/processes.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let scratch: string | undefined;

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A consumer of the package, as another team writes one: plain Node, no TypeScript, no tsx. */
const consumer = `
import { createVerifier, requireAuth, VerificationError } from 'token-issuer/verifier';
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

describe('token-issuer/verifier as an installed package', () => {
  it('installs from the npm pack output and imports from plain Node, with type declarations', async () => {
    scratch = await mkdtemp(join(tmpdir(), 'token-issuer-consumer-'));
    const packed = await runCommand(npm, ['pack', '--pack-destination', scratch, '--silent'], {});
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = (await readdir(scratch)).find((file) => file.endsWith('.tgz'));
    expect(tarball).toBeDefined();

    await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await writeFile(join(scratch, 'check.mjs'), consumer);
    const installed = await runCommandIn(scratch, npm, [
      'install',
      `./${tarball}`,
      '--omit=dev',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
    ]);
    expect(installed.code, installed.stderr).toBe(0);

    const run = await runCommandIn(scratch, process.execPath, ['check.mjs']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      sub: 'u1',
      scope: ['a', 'b'],
      roles: ['admin'],
      refused: 'invalid_token',
      middleware: 'function',
    });
    const installedPackage = join(scratch, 'node_modules', 'token-issuer');
    expect(existsSync(join(installedPackage, 'dist', 'verifier', 'index.d.ts'))).toBe(true);
    expect(existsSync(join(installedPackage, 'src'))).toBe(false); // compiled JavaScript only
  }, 240_000);
});

const runCommandIn = (cwd: string, command: string, args: string[]) => runCommand(command, args, {}, undefined, cwd);
