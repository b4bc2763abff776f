import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from './errors.js';
import { createLogger } from './logger.js';
import { createOutageLog } from './outage-log.js';

function capturedLogger(level = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger(level, sink), lines };
}

const refused = (code: string) =>
  Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code, stack: 'Error: at postgres/src/connection.js:1' });

describe('the outage log', () => {
  it('says once when a dependency goes away and once when it is back, with how long and how many were refused', async () => {
    const { logger, lines } = capturedLogger();
    let up = false;
    const counted: string[] = [];
    let clock = 1_000_000;
    const outages = createOutageLog({
      logger,
      probes: { database: async () => up },
      onRefused: (dependency) => counted.push(dependency),
      probeIntervalMs: 10,
      now: () => clock,
    });
    for (let i = 0; i < 500; i++) outages.refused(new Error('query failed', { cause: refused('CONNECTION_CLOSED') }));
    clock += 4_200;
    await new Promise((resolve) => setTimeout(resolve, 50));
    up = true;
    await expect.poll(() => lines.filter((line) => line.level === 30).length).toBe(1);
    outages.stop();

    const atWarnOrAbove = lines.filter((line) => Number(line.level) >= 40);
    expect(atWarnOrAbove).toEqual([
      expect.objectContaining({
        dependency: 'database',
        cause: 'write CONNECTION_CLOSED 127.0.0.1:5432',
        msg: expect.stringContaining('database is unavailable'),
      }),
    ]);
    expect(lines.filter((line) => line.level === 30)).toEqual([
      expect.objectContaining({ dependency: 'database', outageSeconds: 4.2, refusedRequests: 500, msg: 'database is back' }),
    ]);
    expect(lines.filter((line) => line.level === 20)).toHaveLength(500);
    expect(counted).toHaveLength(500);
    expect(JSON.stringify(lines)).not.toContain('postgres/src/connection.js');
  });

  it('keeps each dependency apart, and calls one without a probe back after a quiet spell', async () => {
    const { logger, lines } = capturedLogger('info');
    let clock = 0;
    const outages = createOutageLog({ logger, probes: {}, probeIntervalMs: 10, quietMs: 1_000, now: () => clock });
    outages.refused(new DependencyUnavailableError('redis', { cause: new Error('Connection is closed.') }));
    outages.refused(new DependencyUnavailableError('password hashing'));
    outages.refused(new DependencyUnavailableError('redis'));
    expect(lines.map((line) => [line.level, line.dependency])).toEqual([
      [40, 'redis'],
      [40, 'password hashing'],
    ]);
    clock = 1_000;
    await expect
      .poll(() => lines.filter((line) => line.level === 30).map((line) => [line.dependency, line.refusedRequests]))
      .toEqual([
        ['redis', 2],
        ['password hashing', 1],
      ]);
    outages.stop();
  });

  it('never writes the stack of an outage error, whoever logs it', () => {
    const { logger, lines } = capturedLogger();
    logger.warn({ err: new Error('could not read', { cause: refused('ECONNREFUSED') }) }, 'could not refresh signing keys');
    logger.error({ err: new Error('a bug') }, 'unexpected error');
    expect(lines[0]!.err).toEqual({
      type: 'Error',
      message: 'ECONNREFUSED: write CONNECTION_CLOSED 127.0.0.1:5432',
      dependency: 'database',
    });
    expect((lines[1]!.err as { stack: string }).stack).toContain('a bug');
  });
});
