import { chmodSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';

/**
 * The embedded database belongs to one process, so while the server runs, the `token-issuer`
 * command hands its arguments to the server over a Unix socket in DATA_DIR and prints what the
 * server answers. Only the same OS user can open the socket (mode 0600, in the data directory);
 * nothing listens on the network for it. With DATABASE_URL the CLI opens PostgreSQL itself.
 */
export const controlSocketPath = (dataDir: string) => join(dataDir, 'control.sock');

export interface CliRequest {
  argv: string[];
  stdin: string;
}

export interface CliOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A password on stdin and a few arguments: far below this. */
const MAX_REQUEST_BYTES = 64 * 1024;
/** The whole request line must arrive within this. */
const REQUEST_READ_TIMEOUT_MS = 10_000;

/** Serves CLI requests on the data directory's socket until closed. */
export async function openControlChannel(
  dataDir: string,
  execute: (request: CliRequest) => Promise<CliOutcome>,
): Promise<{ close(): Promise<void> }> {
  const path = controlSocketPath(dataDir);
  // This process holds the data directory's lock: a socket file left there is a dead server's.
  rmSync(path, { force: true });
  const server: Server = createServer((socket) => {
    let received = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    // A client that never finishes its line would otherwise hold the connection, and shutdown.
    socket.setTimeout(REQUEST_READ_TIMEOUT_MS, () => socket.destroy());
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\n');
      if (end === -1 ? received.length > MAX_REQUEST_BYTES : end > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      if (end === -1) return;
      socket.removeAllListeners('data');
      socket.setTimeout(0); // the command itself may take a while (a 4096-bit key rotation)
      void answer(received.slice(0, end)).then((outcome) => socket.end(`${JSON.stringify(outcome)}\n`));
    });
  });
  const answer = async (line: string): Promise<CliOutcome> => {
    const request = parseRequest(line);
    if (!request) return { exitCode: 2, stdout: '', stderr: 'token-issuer: the server could not read the command\n' };
    return execute(request);
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        rmSync(path, { force: true });
      }),
  };
}

function parseRequest(line: string): CliRequest | undefined {
  try {
    const value = JSON.parse(line) as Partial<CliRequest>;
    const strings = Array.isArray(value.argv) && value.argv.every((item) => typeof item === 'string');
    return strings && typeof value.stdin === 'string' ? { argv: value.argv!, stdin: value.stdin } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends one command to the server holding `dataDir`. Undefined when no server listens there (no
 * socket, or one left by a server that is gone): the CLI then opens the database itself.
 */
export function sendToServer(dataDir: string, request: CliRequest): Promise<CliOutcome | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(controlSocketPath(dataDir));
    let received = '';
    let connected = false;
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected && ['ENOENT', 'ECONNREFUSED'].includes(error.code ?? '')) resolve(undefined);
      else reject(error);
    });
    socket.on('close', () => {
      if (!connected) return;
      try {
        resolve(JSON.parse(received) as CliOutcome);
      } catch {
        reject(new Error('the running server closed the control channel without an answer'));
      }
    });
  });
}
