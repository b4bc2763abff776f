import { openFromEnvironment, type CliContext } from '../../src/cli/cli-context.js';
import { clientRegistrationFrom } from '../../src/cli/clients-command.js';
import { newUserFrom } from '../../src/cli/users-command.js';
import { createClient } from '../../src/clients/client-registry.js';
import type { FederationChange } from '../../src/federation/trusted-issuers.js';
import { clientJson } from '../../src/representations.js';
import { accountDependenciesFrom, registerUser } from '../../src/users/accounts.js';
import type { ClientCredentials } from './processes.js';

/**
 * Test data goes in through the domain functions the CLI calls, in this process, on the test's own
 * database: a CLI process per row (tsx booting, PGlite opening) made most of the suite's time. The
 * options are the CLI's, parsed by the CLI's own parsers; cli.test.ts spawns the real command.
 */

/** Runs `run` on the database (and Redis) that `env` names, as one CLI command would. */
export function withTestData<T>(env: Record<string, string>, run: (context: CliContext) => Promise<T>): Promise<T> {
  return openFromEnvironment(env)(run);
}

/** Who changes federation settings in a test: the CLI's context, as `token-issuer federation` passes it. */
export function federationChange(context: CliContext): FederationChange {
  return { db: context.db, audit: { logger: context.logger }, outbound: context.outbound };
}

/** `token-issuer clients create OPTIONS`: the client as the command prints it, its secret included. */
export async function seedClient(env: Record<string, string>, options: string[]): Promise<ClientCredentials> {
  const { secret, ...client } = await withTestData(env, ({ db }) => createClient(db, clientRegistrationFrom(options)));
  return { ...clientJson(client), client_secret: secret } as ClientCredentials;
}

/** `token-issuer users create OPTIONS --password-stdin` with `password` on standard input. */
export async function seedUser(
  env: Record<string, string>,
  options: string[],
  password: string,
): Promise<{ id: string; username: string }> {
  const input = newUserFrom([...options, '--password-stdin']);
  return withTestData(env, ({ config, db }) => registerUser(accountDependenciesFrom(config, db), input, password));
}
