import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, repositoryRoot, runCommand, startServer, type RunningServer } from '../support/processes.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/** The ```sh blocks of a document (between its quick-start markers, when it has them), in order. */
function shellBlocks(document: string): string[] {
  const markdown = readFileSync(join(repositoryRoot, document), 'utf8');
  const section = /<!-- quick-start -->([\s\S]*?)<!-- \/quick-start -->/.exec(markdown)?.[1] ?? markdown;
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

let database: TestDatabase | undefined;
let server: RunningServer | undefined;

afterEach(async () => {
  await server?.stop();
  await database?.drop();
});

/**
 * A reader's second terminal: a document's blocks pasted in order into one shell, beside a fresh
 * embedded server started as `npm start` starts it, on a free port named by PORT, as the docs allow.
 * Each document starts from an empty issuer: it creates what it uses.
 */
async function runBesideFreshServer(document: string): Promise<{ stdout: string; serverOutput: string }> {
  database = await createTestDatabase({ embedded: true });
  const port = await freePort();
  server = await startServer({ ...database.env, PORT: String(port), ISSUER: `http://localhost:${port}` });
  const blocks = shellBlocks(document);
  expect(blocks.length).toBeGreaterThanOrEqual(4);
  const script = ['set -euo pipefail', ...blocks.map((block, index) => `${block}\necho "::block ${index + 1} done"`)].join('\n');
  const result = await runCommand('bash', ['-c', script], { DATA_DIR: database.dataDir!, PORT: String(port) });
  const done = result.stdout.match(/::block \d+ done/g) ?? [];
  expect(done, `${document} stopped after ${done.length} of ${blocks.length} blocks:\n${result.stderr}`).toHaveLength(blocks.length);
  expect(result.code, result.stderr).toBe(0);
  return { stdout: result.stdout, serverOutput: server.output() };
}

describe('the docs run as written', () => {
  it("the README's quick start, ending with a token verified in another service", async () => {
    const { stdout, serverOutput } = await runBesideFreshServer('README.md');
    // The verifier's answer, printed by the last block: the machine client's token, its scope.
    expect(stdout).toMatch(/scope: \[ 'invoices:read' \]/);
    expect(serverOutput).toContain('"command":"clients create"');
  }, 180_000);

  it("docs/endpoints.md's examples, each creating what it uses", async () => {
    const { stdout } = await runBesideFreshServer('docs/endpoints.md');
    // What the reader sees at the end of the admin block and of the user block.
    expect(stdout).toMatch(/"kind":"client_id","value":"[0-9a-f-]{36}"/);
    expect(stdout).toMatch(/"preferred_username":"carol"/);
    expect(stdout).toContain('"status":"ready"');
  }, 180_000);
});
