// How the benchmark measures: autocannon over HTTP, CPU time from /proc, and in-process rates for
// the bare references (jose, argon2id), each with the CPU it cost.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export type Load = Parameters<typeof autocannon>[0];

export interface Measured {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
  /** CPU time (user + system, all threads) the server process spent per request. */
  cpuMsPerRequest?: number;
}

/** Drives a server with autocannon; every non-2xx answer, socket error and timeout is an error. */
export async function drive(options: Load): Promise<Measured> {
  const result = await autocannon(options);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors + result.timeouts,
    requests: result.requests.total,
  };
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux architecture Node runs on

/** utime + stime of a process, all its threads, in ms, from /proc (Linux); undefined elsewhere. */
export function cpuMsOf(pid: number): number | undefined {
  try {
    // The fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Resident memory of a process in MB, from /proc (Linux); 0 elsewhere or once it is gone. */
export function rssMbOf(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Runs a load against a server process and adds that process's CPU time per request. */
export async function withCpuOf(pid: number, load: () => Promise<Measured>): Promise<Measured> {
  const before = cpuMsOf(pid);
  const result = await load();
  const after = cpuMsOf(pid);
  if (before === undefined || after === undefined || result.requests === 0) return result;
  return { ...result, cpuMsPerRequest: (after - before) / result.requests };
}

export interface InProcessRate {
  /** Operations per second. */
  rate: number;
  /** CPU time of this whole process (every thread, libuv's pool included) per operation. */
  cpuMsPerOperation: number;
}

/** Runs `operation` with `concurrency` in flight for `ms`: how many completed, in how long, for what CPU. */
async function runFor(operation: () => Promise<unknown>, concurrency: number, ms: number) {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpuBefore);
  return { count, ms: performance.now() - started, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** Runs `operation` with `concurrency` in flight for `seconds`. */
export async function inProcessRate(operation: () => Promise<unknown>, concurrency: number, seconds: number): Promise<InProcessRate> {
  const { count, ms, cpuMs } = await runFor(operation, concurrency, seconds * 1000);
  return { rate: count / (ms / 1000), cpuMsPerOperation: cpuMs / count };
}

/**
 * Two in-process rates, measured in alternating half-second slices over `seconds` each: a shared
 * machine's drift then weighs on both alike, not on whichever would have run second.
 */
export async function alternatingRates(
  first: () => Promise<unknown>,
  second: () => Promise<unknown>,
  concurrency: number,
  seconds: number,
): Promise<[number, number]> {
  const totals = [first, second].map((operation) => ({ operation, count: 0, ms: 0 }));
  while (totals[0]!.ms < seconds * 1000) {
    for (const total of totals) {
      const slice = await runFor(total.operation, concurrency, 500);
      total.count += slice.count;
      total.ms += slice.ms;
    }
  }
  return [totals[0]!.count / (totals[0]!.ms / 1000), totals[1]!.count / (totals[1]!.ms / 1000)];
}
