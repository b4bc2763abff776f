import { parseArgs } from 'node:util';
import { createApiKey, findOwnApiKey, listApiKeys, parseLifetime, type ApiKeyOwner } from '../api-keys/api-keys.js';
import { revokeApiKey } from '../api-keys/api-keys.js';
import { findClient } from '../clients/client-registry.js';
import { unknownUser } from '../errors.js';
import { apiKeyJson } from '../representations.js';
import { findUserByLogin } from '../users/user-store.js';
import type { CliContext } from './cli-context.js';
import type { CommandEnvironment } from './cli-io.js';
import { cliActor, onePositional, splitList } from './arguments.js';
import { UsageError } from './usage-error.js';

export const apiKeysUsage = `token-issuer api-keys create --user USERNAME | --client CLIENT_ID --name LABEL --scopes "a b" --audiences URL[,URL] [--expires-in 90d]
token-issuer api-keys list [--user USERNAME | --client CLIENT_ID]
token-issuer api-keys revoke KEY_ID`;

/** API keys of users and machine clients (api-keys/): the key is printed once, by `create`. */
export async function apiKeysCommand(args: string[], cli: CommandEnvironment): Promise<unknown> {
  const [action, ...rest] = args;
  switch (action) {
    case 'create':
      return create(rest, cli);
    case 'list': {
      const { values } = parseArgs({ args: rest, options: { user: { type: 'string' }, client: { type: 'string' } }, strict: true });
      if (values.user !== undefined && values.client !== undefined) throw new UsageError('list takes --user or --client, not both');
      return cli.open(async (context) => {
        const owner = values.user !== undefined ? { userId: (await userNamed(context, values.user)).id } : { clientId: values.client };
        return (await listApiKeys(context, owner)).map(apiKeyJson);
      });
    }
    case 'revoke': {
      const id = onePositional(rest, 'KEY_ID');
      return cli.open(async (context) => {
        await revokeApiKey(context, await findOwnApiKey(context, id), { actor: cliActor() });
        return { id, revoked: true };
      });
    }
    default:
      throw new UsageError(`unknown api-keys action: ${action ?? '(none)'}`);
  }
}

async function create(args: string[], cli: CommandEnvironment): Promise<unknown> {
  const { values } = parseArgs({
    args,
    options: {
      user: { type: 'string' },
      client: { type: 'string' },
      name: { type: 'string' },
      scopes: { type: 'string' },
      audiences: { type: 'string' },
      'expires-in': { type: 'string' },
    },
    strict: true,
  });
  if ((values.user === undefined) === (values.client === undefined)) {
    throw new UsageError('a key belongs to a user (--user USERNAME) or to a machine client (--client CLIENT_ID): give one');
  }
  if (values.name === undefined) throw new UsageError('--name LABEL is required');
  const expiresInSeconds = values['expires-in'] === undefined ? undefined : parseLifetime(values['expires-in']);
  if (expiresInSeconds === 0 || (values['expires-in'] !== undefined && expiresInSeconds === undefined)) {
    throw new UsageError('--expires-in is a duration such as 90d, 12h, 30m or 3600s');
  }
  return cli.open(async (context) => {
    const owner: ApiKeyOwner =
      values.user !== undefined ? { user: await userNamed(context, values.user) } : { client: await clientWithId(context, values.client!) };
    const input = {
      name: values.name!,
      scopes: splitList(values.scopes, /[\s,]+/),
      audiences: splitList(values.audiences),
      ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }),
    };
    const { key, apiKey } = await createApiKey(context, context.config.apiKeys, owner, input, { actor: cliActor() });
    // The key is printed this once: only its hash is stored.
    return { ...apiKeyJson(apiKey), key };
  });
}

async function userNamed(context: CliContext, login: string) {
  const user = await findUserByLogin(context.db, login);
  if (!user) throw unknownUser(login);
  return user;
}

async function clientWithId(context: CliContext, id: string) {
  const client = await findClient(context.db, id);
  if (!client) throw new UsageError(`no client with id ${id}`);
  return client;
}
