import { parseArgs } from 'node:util';
import { ConfigError } from '../config.js';
import { ApiError } from '../errors.js';
import { withoutQueryParameters } from '../db/query-error.js';
import { withDatabase } from './cli-context.js';
import { clientsCommand, clientsUsage } from './clients-command.js';
import { keysCommand, keysUsage } from './keys-command.js';
import { pruneOnce } from '../retention/prune.js';
import { usersCommand, usersUsage } from './users-command.js';
import { UsageError } from './usage-error.js';

const usage = `usage:
token-issuer migrate
${clientsUsage}
${keysUsage}
${usersUsage}
token-issuer prune

Settings come from the same environment variables as the server (DATABASE_URL, DATA_DIR, ...).`;

async function run(argv: string[]): Promise<unknown> {
  const [command, ...args] = argv;
  switch (command) {
    case 'migrate':
      parseArgs({ args, options: {}, strict: true });
      return withDatabase(async () => ({ migrated: true }));
    case 'clients':
      return clientsCommand(args);
    case 'keys':
      return keysCommand(args);
    case 'prune':
      parseArgs({ args, options: {}, strict: true });
      return withDatabase(
        async ({ config, db }) => (await pruneOnce(db, config.retention)) ?? { skipped: 'another instance is pruning now' },
      );
    case 'users':
      return usersCommand(args);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(usage);
      return undefined;
    default:
      throw new UsageError(`unknown command: ${command}`);
  }
}

/** Every failure is one clear line on stderr and a non-zero exit, never a stack trace. */
function fail(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error('token-issuer: invalid configuration');
    for (const problem of error.problems) console.error(`  ${problem}`);
    process.exit(1);
  }
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`token-issuer: ${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  if (error instanceof ApiError) {
    console.error(`token-issuer: ${error.description}`);
    process.exit(1);
  }
  const safe = withoutQueryParameters(error);
  console.error(`token-issuer: ${safe instanceof Error ? safe.message : String(safe)}`);
  process.exit(1);
}

try {
  const result = await run(process.argv.slice(2));
  if (result !== undefined) console.log(JSON.stringify(result, null, 2));
} catch (error) {
  fail(error);
}
