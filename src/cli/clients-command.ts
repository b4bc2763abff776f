import { parseArgs } from 'node:util';
import { removeClient } from '../clients/client-removal.js';
import { registerClient } from '../clients/client-administration.js';
import { findClient, listClients, newClientSchema, type NewClient } from '../clients/client-registry.js';
import { retireSecret, rotateSecret } from '../clients/client-secret-rotation.js';
import { ApiError } from '../errors.js';
import type { CliContext } from './cli-context.js';
import type { CommandEnvironment } from './cli-io.js';
import { cliActor, jsonOf, onePositional, splitList } from './arguments.js';
import { UsageError } from './usage-error.js';
import { clientJson } from '../representations.js';

export const clientsUsage = `token-issuer clients create --name NAME --grants client_credentials --scopes "a b" --audiences https://api.internal
    [--public | --auth-methods client_secret,private_key_jwt,federation [--jwks-file F | --jwks-uri URL]]
    [--redirect-uris URI,URI] [--post-logout-redirect-uris URI,URI] [--first-party] [--pkce-optional]
    [--require-mfa] [--single-factor-password-grant] [--impersonation] [--id-token-alg ALG]
token-issuer clients list
token-issuer clients rotate-secret CLIENT_ID [--revoke-tokens]
token-issuer clients retire-secret CLIENT_ID
token-issuer clients delete CLIENT_ID`;

export async function clientsCommand(args: string[], cli: CommandEnvironment): Promise<unknown> {
  const [action, ...rest] = args;
  switch (action) {
    case 'create':
      return create(rest, cli);
    case 'list':
      parseArgs({ args: rest, options: {}, strict: true });
      return (await cli.open(({ db }) => listClients(db))).map(clientJson);
    case 'rotate-secret':
      return rotate(rest, cli);
    case 'retire-secret': {
      const id = onePositional(rest, 'clients retire-secret takes one CLIENT_ID');
      await cli.open(async (context) => retireSecret(context, await existing(context, id), { actor: cliActor() }));
      return { client_id: id, retired: 'previous secret' };
    }
    case 'delete': {
      const id = onePositional(rest, 'clients delete takes one CLIENT_ID');
      // Its sessions end and their access tokens are denylisted, as through the admin API.
      await cli
        .open((context) => removeClient(context, id, { actor: cliActor() }))
        .catch((error: unknown) => {
          if (error instanceof ApiError && error.status === 404) throw new Error(`no client with id ${id}`);
          throw error;
        });
      return { deleted: id };
    }
    default:
      throw new UsageError(`unknown clients action: ${action ?? '(none)'}`);
  }
}

/**
 * A new secret, shown once; the old one works for CLIENT_SECRET_OVERLAP_SECONDS more. With
 * `--revoke-tokens`, for a leaked one: it stops at once, the sessions end and the tokens are cut off.
 */
async function rotate(args: string[], cli: CommandEnvironment) {
  const { values, positionals } = parseArgs({
    args,
    options: { 'revoke-tokens': { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('clients rotate-secret takes one CLIENT_ID');
  const id = positionals[0]!;
  const revokeTokens = values['revoke-tokens'] ?? false;
  const rotation = await cli.open(async (context) =>
    rotateSecret(context, await existing(context, id), {
      revokeTokens,
      overlapSeconds: context.config.clientSecretOverlapSeconds,
      audit: { actor: cliActor() },
    }),
  );
  return {
    client_id: id,
    client_secret: rotation.secret,
    previous_secret_expires_at: rotation.previousExpiresAt?.toISOString() ?? null,
    revoked_tokens: revokeTokens,
  };
}

async function existing(context: CliContext, id: string) {
  const client = await findClient(context.db, id);
  if (!client) throw new Error(`no client with id ${id}`);
  return client;
}

async function create(args: string[], cli: CommandEnvironment) {
  const registration = clientRegistrationFrom(args);
  const { secret, ...client } = await cli.open((context) => registerClient(context, registration, { actor: cliActor() }));
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
      'auth-methods': { type: 'string' },
      // `--jwks-file F` arrives here as `--jwks <contents>` (arguments.ts withFilesRead).
      jwks: { type: 'string' },
      'jwks-uri': { type: 'string' },
      'redirect-uris': { type: 'string' },
      'post-logout-redirect-uris': { type: 'string' },
      'first-party': { type: 'boolean' },
      'pkce-optional': { type: 'boolean' },
      'require-mfa': { type: 'boolean' },
      'single-factor-password-grant': { type: 'boolean' },
      impersonation: { type: 'boolean' },
      'id-token-alg': { type: 'string' },
    },
    strict: true,
  });
  const parsed = newClientSchema.safeParse({
    name: values.name ?? '',
    isPublic: values.public ?? false,
    grantTypes: splitList(values.grants),
    scopes: splitList(values.scopes, /[\s,]+/),
    audiences: splitList(values.audiences),
    redirectUris: splitList(values['redirect-uris']),
    postLogoutRedirectUris: splitList(values['post-logout-redirect-uris']),
    firstParty: values['first-party'] ?? false,
    pkceRequired: !(values['pkce-optional'] ?? false),
    requireMfa: values['require-mfa'] ?? false,
    singleFactorPasswordGrant: values['single-factor-password-grant'] ?? false,
    impersonation: values.impersonation ?? false,
    ...(values['id-token-alg'] === undefined ? {} : { idTokenAlgorithm: values['id-token-alg'] }),
    ...(values['auth-methods'] === undefined ? {} : { authMethods: splitList(values['auth-methods']) }),
    ...(values.jwks === undefined ? {} : { jwks: jsonOf(values.jwks) }),
    ...(values['jwks-uri'] === undefined ? {} : { jwksUri: values['jwks-uri'] }),
  });
  if (!parsed.success) {
    throw new UsageError(parsed.error.issues.map((issue) => `--${optionOf(issue.path[0])}: ${issue.message}`).join('; '));
  }
  return parsed.data;
}

function optionOf(field: PropertyKey | undefined): string {
  const names: Record<string, string> = {
    grantTypes: 'grants',
    authMethods: 'auth-methods',
    jwks: 'jwks-file',
    jwksUri: 'jwks-uri',
    redirectUris: 'redirect-uris',
    postLogoutRedirectUris: 'post-logout-redirect-uris',
    pkceRequired: 'pkce-optional',
    requireMfa: 'require-mfa',
    singleFactorPasswordGrant: 'single-factor-password-grant',
  };
  return names[String(field)] ?? String(field);
}
