import type { AdminContext } from '../composition.js';

/**
 * Where a CLI command reads its standard input and writes its warnings: the `token-issuer`
 * process's own, or, for a command it sent to a running embedded server (cli/control-channel.ts),
 * the request's.
 */
export interface CliIo {
  readStdin(): Promise<string>;
  warn(line: string): void;
}

/**
 * Opens what a command works on and runs it there: the database (and Redis) the environment names,
 * opened for the command; or, inside a running embedded server, the server's own (composition.ts).
 */
export type ContextOpener = <T>(run: (context: AdminContext) => Promise<T>) => Promise<T>;

/** What every command is given, rather than finding it in process-wide state. */
export interface CommandEnvironment {
  io: CliIo;
  open: ContextOpener;
}
