// The benchmark's output: a markdown table on stdout and the same rows as JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';

export interface Row {
  scenario: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Issuer CPU time (all threads) per request. */
  cpuMsPerRequest?: number;
  reference?: string;
  referenceRps?: number;
  /** The reference's own CPU time per request or operation (all its threads). */
  referenceCpuMsPerRequest?: number;
  /** req/s against the reference's, both measured in this run: what the targets are set on. */
  ratio?: number;
  /**
   * The reference's CPU per operation over the issuer's CPU per request: the rate ratio each would
   * reach with the machine's cores to itself. It leaves out the load generator, which shares this
   * machine's cores and pulls every rate ratio towards 1, and PostgreSQL and Redis.
   */
  cpuRatio?: number;
  target?: string;
  met?: boolean;
}

export function cpuRatioOf(referenceCpuMs: number | undefined, issuerCpuMs: number | undefined): number | undefined {
  return referenceCpuMs === undefined || !issuerCpuMs ? undefined : referenceCpuMs / issuerCpuMs;
}

/** One progress line on stderr as each scenario ends. */
export function progressLine(row: Row): string {
  const ratio =
    row.ratio === undefined
      ? ''
      : ` ratio ${row.ratio.toFixed(2)}${row.target ? ` (target ${row.target}: ${row.met ? 'met' : 'NOT met'})` : ''}`;
  const cpu = row.cpuMsPerRequest === undefined ? '' : ` cpu ${row.cpuMsPerRequest.toFixed(2)} ms/req`;
  const cpuRatio = row.cpuRatio === undefined ? '' : ` cpu ratio ${row.cpuRatio.toFixed(2)}`;
  return `  ${row.scenario}: ${Math.round(row.rps)}/s p99 ${row.p99} ms errors ${row.errors}${cpu}${ratio}${cpuRatio}`;
}

export const TABLE_HEADER =
  '| scenario | req/s | p50 ms | p99 ms | errors | issuer CPU ms/req | reference | reference/s | reference CPU ms/op | ratio | CPU ratio | target | met? |';

export function machine() {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
}

/** Prints the table (after a line describing the run) and writes the JSON report to `out`. */
export function report(rows: Row[], run: { description: string; out: string; details: Record<string, unknown> }): void {
  const fmt = (value: number | undefined, digits = 0) => (value === undefined ? '' : value.toFixed(digits));
  const host = machine();
  console.log(`Machine: ${host.cores} cores, ${host.cpu}, ${host.memoryGiB} GiB, Node ${host.node}. ${run.description}\n`);
  console.log(TABLE_HEADER);
  console.log(`|${'---|'.repeat(TABLE_HEADER.split('|').length - 2)}`);
  for (const row of rows) {
    const met = row.met === undefined ? '' : row.met ? 'yes' : 'no';
    const result = row.errors > 0 ? `${fmt(row.rps)} (not a result: errors)` : fmt(row.rps);
    const cells = [
      row.scenario,
      result,
      fmt(row.p50),
      fmt(row.p99),
      String(row.errors),
      fmt(row.cpuMsPerRequest, 2),
      row.reference ?? '',
      fmt(row.referenceRps),
      fmt(row.referenceCpuMsPerRequest, 2),
      fmt(row.ratio, 2),
      fmt(row.cpuRatio, 2),
      row.target ?? '',
      met,
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
  mkdirSync(dirname(run.out), { recursive: true });
  writeFileSync(run.out, `${JSON.stringify({ machine: host, ...run.details, rows }, null, 2)}\n`);
}
