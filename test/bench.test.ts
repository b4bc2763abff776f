import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TABLE_HEADER, type Row } from '../bench/report.js';
import { runCommand } from './support/processes.js';

/** The benchmark harness runs and reports; its numbers are never judged by a test. */
describe('npm run bench --quick', () => {
  it('runs two scenarios against the reference and writes its table and JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'token-issuer-bench-test-'));
    try {
      const out = join(dir, 'result.json');
      const args = [
        '--conditions=source',
        '--import',
        'tsx',
        'bench/run.ts',
        '--quick',
        '--duration',
        '1',
        '--connections',
        '4',
        '--scenario',
        'jwks,client_credentials',
        '--from-source',
        '--out',
        out,
      ];
      const result = await runCommand(process.execPath, args, {});
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(TABLE_HEADER);
      // Every line of the table (separator and rows) has the header's columns.
      const table = result.stdout.split('\n').filter((line) => line.startsWith('|'));
      expect(table).toHaveLength(2 + 3);
      for (const line of table) expect(line.split('|')).toHaveLength(TABLE_HEADER.split('|').length);
      const report = JSON.parse(await readFile(out, 'utf8')) as { machine: { cores: number }; issuerNodeOptions: string; rows: Row[] };
      expect(report.machine.cores).toBeGreaterThan(0);
      // The issuer ran as the container image runs it.
      expect(report.issuerNodeOptions).toMatch(/--max-old-space-size=\d+/);
      expect(report.rows.map((row) => row.scenario)).toEqual(['client_credentials', 'jwks', 'issuer peak RSS (MB)']);
      for (const row of report.rows.slice(0, 2)) expect([row.rps > 0, row.errors, row.cpuMsPerRequest! > 0]).toEqual([true, 0, true]);
      // The reference's own CPU per request, and the CPU ratio, for when the load generator on the
      // same cores limits both rates.
      for (const row of report.rows.slice(0, 2)) {
        expect(row.reference).toMatch(/^node-oidc-provider/);
        expect(row.referenceCpuMsPerRequest).toBeGreaterThan(0);
        expect(row.cpuRatio).toBeCloseTo(row.referenceCpuMsPerRequest! / row.cpuMsPerRequest!, 6);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
