import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, repositoryRoot, runCommand, startServer, type RunningServer } from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/** The shell blocks between the README's quick-start markers, in order. */
function quickStartBlocks(): string[] {
  const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8');
  const section = /<!-- quick-start -->([\s\S]*?)<!-- \/quick-start -->/.exec(readme)?.[1] ?? '';
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

/**
 * A newcomer's second terminal: the README's blocks pasted in order into one shell, beside a fresh
 * embedded server started as `npm start` starts it, on a free port named by PORT, as the README allows.
 */
describe("the README's quick start", () => {
  let database: TestDatabase;
  let server: RunningServer;
  let port: number;

  beforeAll(async () => {
    database = await createTestDatabase({ embedded: true });
    port = await freePort();
    server = await startServer({ ...database.env, PORT: String(port), ISSUER: `http://localhost:${port}` });
  });

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('runs block by block while the server runs, ending with a token verified in another service', async () => {
    const blocks = quickStartBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    const script = ['set -euo pipefail', ...blocks.map((block, index) => `${block}\necho "::block ${index + 1} done"`)].join('\n');
    const result = await runCommand('bash', ['-c', script], { DATA_DIR: database.dataDir!, PORT: String(port) });
    const done = result.stdout.match(/::block \d+ done/g) ?? [];
    expect(done, `stopped after ${done.length} of ${blocks.length} blocks:\n${result.stderr}`).toHaveLength(blocks.length);
    expect(result.code, result.stderr).toBe(0);
    // The verifier's answer, printed by the last block: the machine client's token, its scope.
    expect(result.stdout).toMatch(/scope: \[ 'invoices:read' \]/);
    expect(server.output()).toContain('"command":"clients create"');
  }, 180_000);
});
