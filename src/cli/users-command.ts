import { parseArgs } from 'node:util';
import { accountDependenciesFrom, changePassword, createUser, setUserEnabled } from '../users/accounts.js';
import { describeFactors, removeFactor } from '../factors/second-factors.js';
import { mailerFrom } from '../mail/mailer.js';
import type { Database } from '../db/database.js';
import { unknownUser } from '../errors.js';
import { findUserByLogin, listUsers } from '../users/user-store.js';
import type { CommandEnvironment } from './cli-io.js';
import { cliActor, onePositional, splitList } from './arguments.js';
import { UsageError } from './usage-error.js';
import { factorsJson, userJson } from '../representations.js';

export const usersUsage = `token-issuer users create --username U --email E [--full-name N] [--roles admin,user] --password-stdin
token-issuer users list
token-issuer users disable|enable USERNAME
token-issuer users set-password USERNAME --password-stdin
token-issuer users factors USERNAME
token-issuer users remove-factor USERNAME FACTOR_ID`;

export async function usersCommand(args: string[], cli: CommandEnvironment): Promise<unknown> {
  const [action, ...rest] = args;
  switch (action) {
    case 'create':
      return create(rest, cli);
    case 'list':
      parseArgs({ args: rest, options: {}, strict: true });
      return (await cli.open(({ db }) => listUsers(db))).map(userJson);
    case 'disable':
    case 'enable': {
      const login = onePositional(rest, `users ${action} takes one USERNAME`);
      const { user, leftNoAdmin } = await cli.open((context) => setUserEnabled(context, login, action === 'enable', { actor: cliActor() }));
      if (leftNoAdmin)
        cli.io.warn('token-issuer: warning: no active admin is left; the admin API is closed until one is enabled or created');
      return userJson(user);
    }
    case 'set-password': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { 'password-stdin': { type: 'boolean' } },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length !== 1 || !values['password-stdin']) {
        throw new UsageError('users set-password takes one USERNAME and --password-stdin');
      }
      const password = await readPassword(cli);
      return userJson(
        await cli.open((context) =>
          changePassword(accountDependenciesFrom(context.config, context.db), context, positionals[0]!, password, { actor: cliActor() }),
        ),
      );
    }
    case 'factors': {
      const login = onePositional(rest, 'users factors takes one USERNAME');
      return cli.open(async ({ db }) => factorsJson(await describeFactors(db, (await existingUser(db, login)).id)));
    }
    case 'remove-factor': {
      const { positionals } = parseArgs({ args: rest, options: {}, allowPositionals: true, strict: true });
      if (positionals.length !== 2) throw new UsageError('users remove-factor takes a USERNAME and a FACTOR_ID');
      const [login, factorId] = positionals as [string, string];
      return cli.open(async (context) => {
        const mailer = mailerFrom(context.config, context.logger);
        try {
          await removeFactor({ ...context, mailer }, await existingUser(context.db, login), factorId, { actor: cliActor() });
        } finally {
          mailer.close();
        }
        return { removed: factorId };
      });
    }
    default:
      throw new UsageError(`unknown users action: ${action ?? '(none)'}`);
  }
}

async function create(args: string[], cli: CommandEnvironment) {
  const input = newUserFrom(args);
  const password = await readPassword(cli);
  return userJson(
    await cli.open((context) =>
      createUser(accountDependenciesFrom(context.config, context.db), context, input, password, { actor: cliActor() }),
    ),
  );
}

/** What `users create` registers, checked by `createUser` as the signup endpoint's body is. */
export interface NewUserOptions {
  username: string;
  email: string;
  fullName: string | undefined;
  roles: string[] | undefined;
}

/** The options of `users create`; the password comes apart, never from the command line. */
export function newUserFrom(args: string[]): NewUserOptions {
  const { values } = parseArgs({
    args,
    options: {
      username: { type: 'string' },
      email: { type: 'string' },
      'full-name': { type: 'string' },
      roles: { type: 'string' },
      'password-stdin': { type: 'boolean' },
    },
    strict: true,
  });
  if (!values['password-stdin']) {
    // A password on the command line would land in shell history and the process list.
    throw new UsageError('users create reads the password from standard input: add --password-stdin');
  }
  return {
    username: values.username ?? '',
    email: values.email ?? '',
    fullName: values['full-name'],
    roles: values.roles === undefined ? undefined : splitList(values.roles),
  };
}

/** The whole of standard input, less one trailing newline. */
async function readPassword(cli: CommandEnvironment): Promise<string> {
  const password = (await cli.io.readStdin()).replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('no password on standard input');
  return password;
}

async function existingUser(db: Database, login: string) {
  const user = await findUserByLogin(db, login);
  if (!user) throw unknownUser(login);
  return user;
}
