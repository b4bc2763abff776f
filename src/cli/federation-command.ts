import { parseArgs } from 'node:util';
import type { ZodError } from 'zod';
import { recordAuditEvent, type AuditEvent } from '../audit/audit-log.js';
import type { FederatedIdentityRow, TrustedIssuerRow } from '../db/schema.js';
import {
  addTrustedIssuer,
  bindWorkload,
  discoverJwksUri,
  listBindings,
  listTrustedIssuers,
  newBindingSchema,
  newTrustedIssuerSchema,
  removeTrustedIssuer,
  unbindWorkload,
} from '../federation/trusted-issuers.js';
import { cliActor, jsonOf, onePositional } from './arguments.js';
import { withDatabase, type CliContext } from './cli-context.js';
import { UsageError } from './usage-error.js';

export const federationUsage = `token-issuer federation add --issuer URL (--jwks-file F | --jwks-uri URL | --discover) --audience AUD
    [--max-token-age SECONDS]
token-issuer federation list
token-issuer federation remove ISSUER
token-issuer federation bind CLIENT_ID --issuer URL [--subject SUB] [--claim NAME=VALUE ...]
token-issuer federation unbind BINDING_ID`;

/** Workload identity federation: trusted external issuers, and which of their workloads are which client. */
export async function federationCommand(args: string[]): Promise<unknown> {
  const [action, ...rest] = args;
  switch (action) {
    case 'add':
      return add(rest);
    case 'list': {
      parseArgs({ args: rest, options: {}, strict: true });
      const [issuers, bindings] = await withDatabase(({ db }) => Promise.all([listTrustedIssuers(db), listBindings(db)]));
      return issuers.map((issuer) => issuerJson(issuer, bindings));
    }
    case 'remove': {
      const issuer = onePositional(rest, 'federation remove takes one ISSUER');
      await withDatabase(async (context) => {
        if (!(await removeTrustedIssuer(context.db, issuer))) throw new Error(`${issuer} is not a trusted issuer`);
        await audit(context, { type: 'trusted_issuer_removed', details: { issuer } });
      });
      return { removed: issuer };
    }
    case 'bind':
      return bind(rest);
    case 'unbind': {
      const id = onePositional(rest, 'federation unbind takes one BINDING_ID');
      await withDatabase(async (context) => {
        if (!(await unbindWorkload(context.db, id))) throw new Error(`no binding with id ${id}`);
        await audit(context, { type: 'workload_unbound', details: { binding_id: id } });
      });
      return { unbound: id };
    }
    default:
      throw new UsageError(`unknown federation action: ${action ?? '(none)'}`);
  }
}

async function add(args: string[]) {
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
  const keySources = [values.jwks, values['jwks-uri'], values.discover].filter((given) => given !== undefined);
  if (keySources.length !== 1) throw new UsageError('federation add takes one of --jwks-file, --jwks-uri and --discover');
  const maxAge = values['max-token-age'];
  if (maxAge !== undefined && !/^\d{1,6}$/.test(maxAge)) throw new UsageError('--max-token-age: a whole number of seconds');
  const parsed = newTrustedIssuerSchema.safeParse({
    issuer: values.issuer ?? '',
    audience: values.audience ?? '',
    ...(values.jwks === undefined ? {} : { jwks: jsonOf(values.jwks) }),
    ...(values['jwks-uri'] === undefined ? {} : { jwksUri: values['jwks-uri'] }),
    ...(maxAge === undefined ? {} : { maxTokenAgeSeconds: Number(maxAge) }),
    // Checked before anything is fetched; the discovered URI replaces it.
    ...(values.discover ? { jwksUri: values.issuer } : {}),
  });
  if (!parsed.success) throw usageErrorOf(parsed.error, ADD_OPTIONS);
  const registration = parsed.data;
  if (values.discover) registration.jwksUri = await discoverJwksUri(registration.issuer);
  return withDatabase(async (context) => {
    const row = await addTrustedIssuer(context.db, registration);
    await audit(context, { type: 'trusted_issuer_added', details: { issuer: row.issuer, audience: row.audience } });
    return issuerJson(row, []);
  });
}

async function bind(args: string[]) {
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
  return withDatabase(async (context) => {
    const row = await bindWorkload(context.db, parsed.data);
    await audit(context, { type: 'workload_bound', clientId: row.clientId, details: bindingJson(row) });
    return bindingJson(row);
  });
}

const ADD_OPTIONS = { jwks: 'jwks-file', jwksUri: 'jwks-uri', maxTokenAgeSeconds: 'max-token-age' };

function usageErrorOf(error: ZodError, options: Record<string, string>): UsageError {
  const option = (field: PropertyKey | undefined) => options[String(field)] ?? String(field);
  return new UsageError(error.issues.map((issue) => `--${option(issue.path[0])}: ${issue.message}`).join('; '));
}

function audit(context: CliContext, event: AuditEvent): Promise<void> {
  return recordAuditEvent(context.db, { logger: context.logger }, { ...event, actor: cliActor() });
}

function issuerJson(issuer: TrustedIssuerRow, bindings: FederatedIdentityRow[]) {
  return {
    issuer: issuer.issuer,
    audience: issuer.audience,
    max_token_age_seconds: issuer.maxTokenAgeSeconds,
    ...(issuer.jwksUri ? { jwks_uri: issuer.jwksUri } : { jwks: issuer.jwks }),
    bindings: bindings.filter((binding) => binding.issuer === issuer.issuer).map(bindingJson),
    created_at: issuer.createdAt.toISOString(),
  };
}

function bindingJson(binding: FederatedIdentityRow) {
  return {
    binding_id: binding.id,
    client_id: binding.clientId,
    issuer: binding.issuer,
    ...(binding.subject === null ? {} : { subject: binding.subject }),
    claims: binding.claims,
  };
}
