import { apiKeysCommand, apiKeysUsage } from './api-keys-command.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config.js';
import { withoutQueryParameters } from '../redaction.js';
import { ApiError } from '../errors.js';
import { pruneOnce } from '../retention/prune.js';
import type { CliIo, CommandEnvironment, ContextOpener } from './cli-io.js';
import { clientsCommand, clientsUsage } from './clients-command.js';
import type { CliOutcome } from './control-channel.js';
import { federationCommand, federationUsage } from './federation-command.js';
import { providersCommand, providersUsage } from './providers-command.js';
import { keysCommand, keysUsage } from './keys-command.js';
import { revokeCommand, revokeUsage } from './revoke-command.js';
import { UsageError } from './usage-error.js';
import { usersCommand, usersUsage } from './users-command.js';

/** Each command's usage: printed for `COMMAND --help`, and under a mistake in that command. */
const commandUsage: Record<string, string> = {
  migrate: 'token-issuer migrate',
  clients: clientsUsage,
  federation: federationUsage,
  providers: providersUsage,
  keys: keysUsage,
  users: usersUsage,
  revoke: revokeUsage,
  'api-keys': apiKeysUsage,
  prune: 'token-issuer prune',
};

export const usage = `usage:
${Object.values(commandUsage).join('\n')}
token-issuer --version

Settings come from the same environment variables as the server (DATABASE_URL, DATA_DIR, ...).
While the embedded server runs, commands are carried out by it (DATA_DIR/control.sock).
Each command says on stderr which database it uses; --verbose adds its log lines.
\`token-issuer COMMAND --help\` shows one command's usage.`;

const HELP = new Set([undefined, 'help', '--help', '-h']);

/** The package's version, from its manifest (beside src/ and dist/ alike). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * Runs one command and says what to print and how to exit: the same answer whether this process
 * runs it or a running embedded server does for it. Every failure is one clear line, never a stack;
 * a mistake in a command's arguments shows that command's usage only.
 */
export async function runCli(argv: string[], io: CliIo, open: ContextOpener): Promise<CliOutcome> {
  const [command, ...args] = argv;
  if (HELP.has(command)) return { exitCode: 0, stdout: `${usage}\n`, stderr: '' };
  if (command === '--version') return { exitCode: 0, stdout: `token-issuer ${version()}\n`, stderr: '' };
  const commandHelp = commandUsage[command!];
  if (commandHelp && args.some((arg) => arg === '--help' || arg === '-h'))
    return { exitCode: 0, stdout: `usage:\n${commandHelp}\n`, stderr: '' };
  const warnings: string[] = [];
  try {
    // Every command that reaches the data says which data first (a second shell without DATABASE_URL
    // would otherwise write to the embedded database unnoticed).
    const saysWhere: ContextOpener = (run) =>
      open((context) => {
        warnings.unshift(`token-issuer: ${context.store}`);
        return run(context);
      });
    const result = await dispatch(argv, { io: { ...io, warn: (line) => warnings.push(line) }, open: saysWhere });
    return { exitCode: 0, stdout: `${JSON.stringify(result, null, 2)}\n`, stderr: lines(warnings) };
  } catch (error) {
    const failure = describeFailure(error, commandHelp);
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
    case 'providers':
      return providersCommand(args, cli);
    case 'keys':
      return keysCommand(args, cli);
    case 'prune':
      parseArgs({ args, options: {}, strict: true });
      return cli.open(async ({ config, db }) => (await pruneOnce(db, config.retention)) ?? { skipped: 'another instance is pruning now' });
    case 'users':
      return usersCommand(args, cli);
    case 'revoke':
      return revokeCommand(args, cli);
    case 'api-keys':
      return apiKeysCommand(args, cli);
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

function describeFailure(error: unknown, commandHelp: string | undefined): { exitCode: number; lines: string[] } {
  if (error instanceof ConfigError) {
    return { exitCode: 1, lines: ['token-issuer: invalid configuration', ...error.problems.map((problem) => `  ${problem}`)] };
  }
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    return { exitCode: 2, lines: [`token-issuer: ${(error as Error).message}`, '', commandHelp ? `usage:\n${commandHelp}` : usage] };
  }
  if (error instanceof ApiError) return { exitCode: 1, lines: [`token-issuer: ${error.description}`] };
  const safe = withoutQueryParameters(error);
  return { exitCode: 1, lines: [`token-issuer: ${safe instanceof Error ? safe.message : String(safe)}`] };
}

const lines = (items: string[]) => items.map((line) => `${line}\n`).join('');
