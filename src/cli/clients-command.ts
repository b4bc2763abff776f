import { parseArgs } from 'node:util';
import { removeClient } from '../clients/client-removal.js';
import { createClient, listClients, newClientSchema, type NewClient } from '../clients/client-registry.js';
import { ApiError } from '../errors.js';
import { SUPPORTED_GRANT_TYPES, unsupportedGrantTypes } from '../grants/registry.js';
import { withDatabase } from './cli-context.js';
import { onePositional, splitList } from './arguments.js';
import { UsageError } from './usage-error.js';
import { clientJson } from '../http/representations.js';

export const clientsUsage = `token-issuer clients create --name NAME --grants client_credentials --scopes "a b" --audiences https://api.internal [--public]
token-issuer clients list
token-issuer clients delete CLIENT_ID`;

export async function clientsCommand(args: string[]): Promise<unknown> {
  const [action, ...rest] = args;
  switch (action) {
    case 'create':
      return create(rest);
    case 'list':
      parseArgs({ args: rest, options: {}, strict: true });
      return (await withDatabase(({ db }) => listClients(db))).map(clientJson);
    case 'delete': {
      const id = onePositional(rest, 'clients delete takes one CLIENT_ID');
      // Its sessions end and their access tokens are denylisted, as through the admin API.
      await withDatabase((context) => removeClient(context, id)).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) throw new Error(`no client with id ${id}`);
        throw error;
      });
      return { deleted: id };
    }
    default:
      throw new UsageError(`unknown clients action: ${action ?? '(none)'}`);
  }
}

async function create(args: string[]) {
  const registration = clientRegistrationFrom(args);
  const { secret, ...client } = await withDatabase(({ db }) => createClient(db, registration));
  // The secret is shown this once; only its hash is stored.
  const { client_id, ...rest } = clientJson(client);
  return secret === undefined ? { client_id, ...rest } : { client_id, client_secret: secret, ...rest };
}

/** The options of `clients create`, checked as the admin API checks a new client. */
export function clientRegistrationFrom(args: string[]): NewClient {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      grants: { type: 'string' },
      scopes: { type: 'string' },
      audiences: { type: 'string' },
      public: { type: 'boolean' },
    },
    strict: true,
  });
  const parsed = newClientSchema.safeParse({
    name: values.name ?? '',
    isPublic: values.public ?? false,
    grantTypes: splitList(values.grants),
    scopes: splitList(values.scopes, /[\s,]+/),
    audiences: splitList(values.audiences),
  });
  if (!parsed.success) {
    throw new UsageError(parsed.error.issues.map((issue) => `--${optionOf(issue.path[0])}: ${issue.message}`).join('; '));
  }
  const unknown = unsupportedGrantTypes(parsed.data.grantTypes);
  if (unknown.length > 0) {
    throw new UsageError(`--grants: unsupported ${unknown.join(', ')} (supported: ${SUPPORTED_GRANT_TYPES.join(', ')})`);
  }
  return parsed.data;
}

function optionOf(field: PropertyKey | undefined): string {
  return field === 'grantTypes' ? 'grants' : String(field);
}
