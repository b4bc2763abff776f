import { AsyncLocalStorage } from 'node:async_hooks';
import type { CliContext } from './cli-context.js';

/**
 * Where a CLI command reads its standard input, writes its warnings, and finds its database. A
 * command run by the `token-issuer` process uses the process's own; one sent by that process to a
 * running embedded server (cli/control-channel.ts) uses the request's, and the server's database.
 */
export interface CliIo {
  readStdin(): Promise<string>;
  warn(line: string): void;
  /** Set inside a running server: commands use its database, denylist and logger. */
  context?: CliContext;
}

const processIo: CliIo = {
  async readStdin() {
    let input = '';
    for await (const chunk of process.stdin) input += String(chunk);
    return input;
  },
  warn: (line) => console.error(line),
};

const current = new AsyncLocalStorage<CliIo>();

export const withCliIo = <T>(io: CliIo, run: () => Promise<T>): Promise<T> => current.run(io, run);

export const cliIo = (): CliIo => current.getStore() ?? processIo;
