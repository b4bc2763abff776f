import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { controlSocketPath, openControlChannel, sendToServer, type CliRequest } from './control-channel.js';

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'control-channel-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** What a raw client gets back for `payload`, or '' when the server hangs up without an answer. */
function rawExchange(payload: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection(controlSocketPath(dataDir), () => socket.end(payload));
    let received = '';
    socket.on('data', (chunk) => (received += String(chunk)));
    socket.on('error', () => {});
    socket.on('close', () => resolve(received));
  });
}

describe('the CLI control channel', () => {
  it('carries a command and its standard input to the server and its answer back', async () => {
    const seen: CliRequest[] = [];
    const channel = await openControlChannel(dataDir, async (request) => {
      seen.push(request);
      return { exitCode: 3, stdout: 'out\n', stderr: 'err\n' };
    });
    try {
      expect(await sendToServer(dataDir, { argv: ['users', 'list'], stdin: 'secret\n' })).toEqual({
        exitCode: 3,
        stdout: 'out\n',
        stderr: 'err\n',
      });
      expect(seen).toEqual([{ argv: ['users', 'list'], stdin: 'secret\n' }]);
    } finally {
      await channel.close();
    }
  });

  it('answers a malformed request with a usage error and runs nothing', async () => {
    let ran = 0;
    const channel = await openControlChannel(dataDir, async () => ({ exitCode: 0, stdout: String((ran += 1)), stderr: '' }));
    try {
      for (const line of ['not json\n', '{"argv":"users list","stdin":""}\n', '{"argv":[1],"stdin":""}\n', '{"argv":[]}\n']) {
        expect(JSON.parse(await rawExchange(line))).toMatchObject({ exitCode: 2 });
      }
      // Past 64 KiB the connection is dropped, with or without a line end after it.
      expect(await rawExchange('x'.repeat(70 * 1024))).toBe('');
      const oversized = JSON.stringify({ argv: ['users', 'list', 'x'.repeat(70 * 1024)], stdin: '' });
      expect(await rawExchange(`${oversized}\n`)).toBe('');
      expect(ran).toBe(0);
    } finally {
      await channel.close();
    }
  });

  it('finds no server where there is no socket, or only one left behind by a dead server', async () => {
    expect(await sendToServer(dataDir, { argv: ['clients', 'list'], stdin: '' })).toBeUndefined();
    const channel = await openControlChannel(dataDir, async () => ({ exitCode: 0, stdout: '', stderr: '' }));
    await channel.close();
    await writeFile(controlSocketPath(dataDir), ''); // a plain file where a socket was
    expect(await sendToServer(dataDir, { argv: ['clients', 'list'], stdin: '' })).toBeUndefined();
  });
});
