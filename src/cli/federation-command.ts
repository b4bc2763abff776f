import { parseArgs } from 'node:util';
import type { ZodError } from 'zod';
import {
  addTrustedIssuer,
  bindWorkload,
  listBindings,
  listTrustedIssuers,
  newBindingSchema,
  newTrustedIssuerSchema,
  removeTrustedIssuer,
  unbindWorkload,
  type FederationChange,
} from '../federation/trusted-issuers.js';
import { bindingJson, trustedIssuerJson } from '../representations.js';
import { cliActor, jsonOf, onePositional } from './arguments.js';
import type { CliContext } from './cli-context.js';
import type { CommandEnvironment } from './cli-io.js';
import { UsageError } from './usage-error.js';

export const federationUsage = `token-issuer federation add --issuer URL (--jwks-file F | --jwks-uri URL | --discover) --audience AUD
    [--max-token-age SECONDS]
token-issuer federation list
token-issuer federation remove ISSUER|ID
token-issuer federation bind CLIENT_ID --issuer URL [--subject SUB] [--claim NAME=VALUE ...]
token-issuer federation unbind BINDING_ID`;

/** Workload identity federation: trusted external issuers, and which of their workloads are which client. */
export async function federationCommand(args: string[], cli: CommandEnvironment): Promise<unknown> {
  const [action, ...rest] = args;
  switch (action) {
    case 'add':
      return add(rest, cli);
    case 'list': {
      parseArgs({ args: rest, options: {}, strict: true });
      const [issuers, bindings] = await cli.open(({ db }) => Promise.all([listTrustedIssuers(db), listBindings(db)]));
      return issuers.map((issuer) => trustedIssuerJson(issuer, bindings));
    }
    case 'remove': {
      const issuer = onePositional(rest, 'federation remove takes one ISSUER or its ID');
      await cli.open((context) => removeTrustedIssuer(changeBy(context), issuer));
      return { removed: issuer };
    }
    case 'bind':
      return bind(rest, cli);
    case 'unbind': {
      const id = onePositional(rest, 'federation unbind takes one BINDING_ID');
      await cli.open((context) => unbindWorkload(changeBy(context), id));
      return { unbound: id };
    }
    default:
      throw new UsageError(`unknown federation action: ${action ?? '(none)'}`);
  }
}

async function add(args: string[], cli: CommandEnvironment) {
  const { values } = parseArgs({
    args,
    options: {
      issuer: { type: 'string' },
      // `--jwks-file F` arrives here as `--jwks <contents>` (arguments.ts withFilesRead).
      jwks: { type: 'string' },
      'jwks-uri': { type: 'string' },
      discover: { type: 'boolean' },
      audience: { type: 'string' },
      'max-token-age': { type: 'string' },
    },
    strict: true,
  });
  const maxAge = values['max-token-age'];
  if (maxAge !== undefined && !/^\d{1,6}$/.test(maxAge)) throw new UsageError('--max-token-age: a whole number of seconds');
  // Checked here, before the database opens, for a usage error naming the option.
  const parsed = newTrustedIssuerSchema.safeParse({
    issuer: values.issuer ?? '',
    audience: values.audience ?? '',
    jwks: values.jwks === undefined ? undefined : jsonOf(values.jwks),
    jwksUri: values['jwks-uri'],
    discover: values.discover,
    maxTokenAgeSeconds: maxAge === undefined ? undefined : Number(maxAge),
  });
  if (!parsed.success) throw usageErrorOf(parsed.error, { jwks: 'jwks-file', jwksUri: 'jwks-uri', maxTokenAgeSeconds: 'max-token-age' });
  const row = await cli.open((context) => addTrustedIssuer(changeBy(context), parsed.data));
  return trustedIssuerJson(row, []);
}

async function bind(args: string[], cli: CommandEnvironment) {
  const { values, positionals } = parseArgs({
    args,
    options: { issuer: { type: 'string' }, subject: { type: 'string' }, claim: { type: 'string', multiple: true } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('federation bind takes one CLIENT_ID');
  const claims: Record<string, string> = {};
  for (const rule of values.claim ?? []) {
    const equals = rule.indexOf('=');
    if (equals < 1) throw new UsageError(`--claim: NAME=VALUE, not ${rule}`);
    claims[rule.slice(0, equals)] = rule.slice(equals + 1);
  }
  const parsed = newBindingSchema.safeParse({ clientId: positionals[0], issuer: values.issuer ?? '', subject: values.subject, claims });
  if (!parsed.success) throw usageErrorOf(parsed.error, { claims: 'claim' });
  return bindingJson(await cli.open((context) => bindWorkload(changeBy(context), parsed.data)));
}

function usageErrorOf(error: ZodError, options: Record<string, string>): UsageError {
  const option = (field: PropertyKey | undefined) => options[String(field)] ?? String(field);
  return new UsageError(error.issues.map((issue) => `--${option(issue.path[0])}: ${issue.message}`).join('; '));
}

const changeBy = (context: CliContext): FederationChange => ({
  db: context.db,
  audit: { logger: context.logger },
  outbound: context.outbound,
  actor: cliActor(),
});
