import { parseArgs } from 'node:util';
import { ConfigError } from '../config.js';
import { withoutQueryParameters } from '../redaction.js';
import { ApiError } from '../errors.js';
import { pruneOnce } from '../retention/prune.js';
import type { CliIo, CommandEnvironment, ContextOpener } from './cli-io.js';
import { clientsCommand, clientsUsage } from './clients-command.js';
import type { CliOutcome } from './control-channel.js';
import { federationCommand, federationUsage } from './federation-command.js';
import { keysCommand, keysUsage } from './keys-command.js';
import { revokeCommand, revokeUsage } from './revoke-command.js';
import { UsageError } from './usage-error.js';
import { usersCommand, usersUsage } from './users-command.js';

export const usage = `usage:
token-issuer migrate
${clientsUsage}
${federationUsage}
${keysUsage}
${usersUsage}
${revokeUsage}
token-issuer prune

Settings come from the same environment variables as the server (DATABASE_URL, DATA_DIR, ...).
While the embedded server runs, commands are carried out by it (DATA_DIR/control.sock).`;

const HELP = new Set([undefined, 'help', '--help', '-h']);

/**
 * Runs one command and says what to print and how to exit: the same answer whether this process
 * runs it or a running embedded server does for it. Every failure is one clear line, never a stack.
 */
export async function runCli(argv: string[], io: CliIo, open: ContextOpener): Promise<CliOutcome> {
  if (HELP.has(argv[0])) return { exitCode: 0, stdout: `${usage}\n`, stderr: '' };
  const warnings: string[] = [];
  try {
    const result = await dispatch(argv, { io: { ...io, warn: (line) => warnings.push(line) }, open });
    return { exitCode: 0, stdout: `${JSON.stringify(result, null, 2)}\n`, stderr: lines(warnings) };
  } catch (error) {
    const failure = describeFailure(error);
    return { exitCode: failure.exitCode, stdout: '', stderr: lines([...warnings, ...failure.lines]) };
  }
}

async function dispatch([command, ...args]: string[], cli: CommandEnvironment): Promise<unknown> {
  switch (command) {
    case 'migrate':
      parseArgs({ args, options: {}, strict: true });
      return cli.open(async () => ({ migrated: true }));
    case 'clients':
      return clientsCommand(args, cli);
    case 'federation':
      return federationCommand(args, cli);
    case 'keys':
      return keysCommand(args, cli);
    case 'prune':
      parseArgs({ args, options: {}, strict: true });
      return cli.open(async ({ config, db }) => (await pruneOnce(db, config.retention)) ?? { skipped: 'another instance is pruning now' });
    case 'users':
      return usersCommand(args, cli);
    case 'revoke':
      return revokeCommand(args, cli);
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

function describeFailure(error: unknown): { exitCode: number; lines: string[] } {
  if (error instanceof ConfigError) {
    return { exitCode: 1, lines: ['token-issuer: invalid configuration', ...error.problems.map((problem) => `  ${problem}`)] };
  }
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    return { exitCode: 2, lines: [`token-issuer: ${(error as Error).message}`, '', usage] };
  }
  if (error instanceof ApiError) return { exitCode: 1, lines: [`token-issuer: ${error.description}`] };
  const safe = withoutQueryParameters(error);
  return { exitCode: 1, lines: [`token-issuer: ${safe instanceof Error ? safe.message : String(safe)}`] };
}

const lines = (items: string[]) => items.map((line) => `${line}\n`).join('');
