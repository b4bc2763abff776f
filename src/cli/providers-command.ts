import { parseArgs } from 'node:util';
import { resolveKeyEncryptionKey } from '../keys/key-encryption-key.js';
import {
  addProvider,
  listProviders,
  newProviderSchema,
  PROVIDER_TYPES,
  providerJson,
  removeProvider,
  type ProviderDependencies,
} from '../upstream/providers.js';
import { createUpstreamClients } from '../upstream/upstream-clients.js';
import { cliActor, onePositional, splitList } from './arguments.js';
import type { CliContext } from './cli-context.js';
import type { CommandEnvironment } from './cli-io.js';
import { UsageError } from './usage-error.js';

export const providersUsage = `token-issuer providers add --name NAME --type ${PROVIDER_TYPES.join('|')} --client-id ID
    [--client-secret-stdin | --private-key-jwt]
    [--issuer URL (oidc)] [--tenant TENANT (microsoft)] [--scopes "openid email profile"]
    [--display-name NAME] [--allow-signup] [--allowed-domains example.com,...] [--exclusive]
token-issuer providers list
token-issuer providers remove NAME`;

/** Upstream identity providers people may sign in with on the login page (upstream/). */
export async function providersCommand(args: string[], cli: CommandEnvironment): Promise<unknown> {
  const [action, ...rest] = args;
  switch (action) {
    case 'add':
      return add(rest, cli);
    case 'list':
      parseArgs({ args: rest, options: {}, strict: true });
      return cli.open(async (context) => {
        const { keyEncryptionKey } = dependenciesOf(context);
        return (await listProviders(context.db)).map((provider) => providerJson(provider, context.config.issuer, keyEncryptionKey));
      });
    case 'remove': {
      const name = onePositional(rest, 'providers remove takes one NAME');
      await cli.open((context) => removeProvider(dependenciesOf(context), name, { actor: cliActor() }));
      return { removed: name };
    }
    default:
      throw new UsageError(`unknown providers action: ${action ?? '(none)'}`);
  }
}

async function add(args: string[], cli: CommandEnvironment) {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      type: { type: 'string' },
      issuer: { type: 'string' },
      tenant: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret-stdin': { type: 'boolean' },
      'private-key-jwt': { type: 'boolean' },
      scopes: { type: 'string' },
      'display-name': { type: 'string' },
      'allow-signup': { type: 'boolean' },
      'allowed-domains': { type: 'string' },
      exclusive: { type: 'boolean' },
    },
    strict: true,
  });
  // A secret on the command line would land in shell history and the process list.
  const clientSecret = values['client-secret-stdin'] ? (await cli.io.readStdin()).replace(/\r?\n$/, '') : undefined;
  if (values['client-secret-stdin'] && !clientSecret) throw new UsageError('no client secret on standard input');
  const input = {
    name: values.name ?? '',
    type: values.type as (typeof PROVIDER_TYPES)[number],
    issuer: values.issuer,
    tenant: values.tenant,
    clientId: values['client-id'] ?? '',
    clientSecret,
    privateKeyJwt: values['private-key-jwt'] ?? false,
    scopes: values.scopes === undefined ? undefined : values.scopes.split(/\s+/).filter(Boolean),
    displayName: values['display-name'],
    allowSignup: values['allow-signup'] ?? false,
    allowedDomains: values['allowed-domains'] === undefined ? undefined : splitList(values['allowed-domains']),
    exclusive: values.exclusive ?? false,
  };
  // Checked before the database opens, for a usage error naming the option.
  const parsed = newProviderSchema.safeParse(input);
  if (!parsed.success) {
    const option = (field: PropertyKey | undefined) => String(field).replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
    throw new UsageError(parsed.error.issues.map((issue) => `--${option(issue.path[0])}: ${issue.message}`).join('; '));
  }
  return cli.open(async (context) => {
    const deps = dependenciesOf(context);
    return providerJson(await addProvider(deps, input, { actor: cliActor() }), context.config.issuer, deps.keyEncryptionKey);
  });
}

function dependenciesOf(context: CliContext): ProviderDependencies {
  const keyEncryptionKey = resolveKeyEncryptionKey(context.config, context.logger);
  return {
    db: context.db,
    logger: context.logger,
    keyEncryptionKey,
    outbound: context.outbound,
    upstream: createUpstreamClients({ keyEncryptionKey, outbound: context.outbound }),
    issuer: context.config.issuer,
  };
}
