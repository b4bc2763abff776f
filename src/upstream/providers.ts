// Upstream identity providers people may sign in with: registered by an operator (CLI, admin API),
// checked before they are stored (an OpenID Connect issuer by its discovery document), their
// client secret sealed at rest. Google and Microsoft Entra ID are OpenID Connect issuers with known
// addresses; GitHub is OAuth 2.0 and an API (github.ts).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { recordAuditEvent, type AuditActor, type AuditSink } from '../audit/audit-log.js';
import type { Database } from '../db/database.js';
import type { IdentityProviderRow } from '../db/schema.js';
import { describeIssues, invalidRequest, notFound, providerExists } from '../errors.js';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { open, seal } from '../keys/sealed-box.js';
import type { Outbound } from '../outbound/outbound-fetch.js';
import { urlShapeProblem } from '../outbound/outbound-policy.js';
import { deleteProvider, insertProvider, listProviders } from './provider-store.js';
import { GITHUB, GITHUB_SCOPES } from './github.js';
import { clientKeySealingContext, sealingContext, type UpstreamClients } from './upstream-clients.js';

export interface ProviderDependencies extends AuditSink {
  db: Database;
  keyEncryptionKey: Buffer;
  outbound: Outbound;
  upstream: UpstreamClients;
  /** ISSUER: the one redirect URI every provider is told, `{ISSUER}/authorize/callback`. */
  issuer: string;
}

export const PROVIDER_TYPES = ['oidc', 'google', 'microsoft', 'github'] as const;

/** Where each preset is: Google's and Microsoft's OpenID Connect issuers (Microsoft's per tenant), and GitHub. */
const PRESET_ISSUERS = {
  google: () => 'https://accounts.google.com',
  microsoft: (tenant: string) => `https://login.microsoftonline.com/${tenant}/v2.0`,
};

/** What the issuer of a new provider is: the one given, or the preset's. */
export function issuerOf(input: {
  type: (typeof PROVIDER_TYPES)[number];
  issuer?: string | undefined;
  tenant?: string | undefined;
}): string {
  if (input.type === 'google') return PRESET_ISSUERS.google();
  if (input.type === 'microsoft') return PRESET_ISSUERS.microsoft(input.tenant ?? '');
  if (input.type === 'github') return (input.issuer ?? GITHUB).replace(/\/$/, '');
  return input.issuer!;
}

const domain = z.string().regex(/^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/, 'a domain name such as example.com');

export const newProviderSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'lower-case letters, digits and dashes, at most 32'),
    type: z.enum(PROVIDER_TYPES),
    issuer: z.string().max(2048).optional(),
    tenant: z
      .string()
      .regex(/^[A-Za-z0-9.-]{1,64}$/, 'a tenant id or domain')
      .optional(),
    clientId: z.string().min(1).max(512),
    clientSecret: z.string().min(1).max(2048).optional(),
    /** Authenticate with a key of this issuer's (RFC 7523) instead of a secret: made now, its public half shown. */
    privateKeyJwt: z.boolean().default(false),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/))
      .max(20)
      .optional(),
    displayName: z.string().trim().min(1).max(64).optional(),
    allowSignup: z.boolean().default(false),
    exclusive: z.boolean().default(false),
    allowedDomains: z.array(domain).max(50).default([]),
  })
  .refine((input) => input.type !== 'oidc' || input.issuer !== undefined, {
    path: ['issuer'],
    message: 'an oidc provider needs its issuer URL',
  })
  .refine((input) => input.type !== 'microsoft' || input.tenant !== undefined, { path: ['tenant'], message: 'microsoft needs the tenant' })
  .refine((input) => !(input.privateKeyJwt && input.clientSecret !== undefined), {
    path: ['privateKeyJwt'],
    message: 'a provider takes a client secret or private_key_jwt, not both',
  })
  .refine((input) => !(input.privateKeyJwt && input.type === 'github'), {
    path: ['privateKeyJwt'],
    message: 'GitHub takes a client secret',
  })
  .refine((input) => input.type === 'github' || input.scopes === undefined || input.scopes.includes('openid'), {
    path: ['scopes'],
    message: 'the scopes must include openid',
  });

export type NewProvider = z.input<typeof newProviderSchema>;

/** Where providers send people back: one callback for all of them (the state names the sign-in). */
export const upstreamCallbackOf = (issuer: string) => `${issuer}/authorize/callback`;

/**
 * Registers a provider once its discovery document answers for its issuer (openid-client checks
 * that the document's `issuer` is the one asked for). Audited. Returns the provider and the
 * redirect URI to register at it.
 */
export async function addProvider(deps: ProviderDependencies, input: NewProvider, by: AuditActor): Promise<IdentityProviderRow> {
  const parsed = newProviderSchema.safeParse(input);
  if (!parsed.success) throw invalidRequest(describeIssues(parsed.error.issues));
  const checked = parsed.data;
  const issuer = issuerOf(checked);
  const kind = checked.type === 'github' ? 'github' : 'oidc';
  const shape = urlShapeProblem(issuer);
  if (shape) throw invalidRequest(`issuer: ${shape}`);
  const id = randomUUID();
  const clientKey = checked.privateKeyJwt ? await newClientKey() : undefined;
  const row = {
    id,
    clientAuth: clientKey ? 'private_key_jwt' : checked.clientSecret ? 'client_secret' : 'none',
    clientKeySealed: clientKey ? seal(JSON.stringify(clientKey), deps.keyEncryptionKey, clientKeySealingContext(id)) : null,
    name: checked.name,
    kind,
    displayName: checked.displayName ?? defaultDisplayName(checked.type, checked.name),
    issuer,
    clientId: checked.clientId,
    clientSecretSealed: checked.clientSecret ? seal(checked.clientSecret, deps.keyEncryptionKey, sealingContext(id)) : null,
    scopes: [...new Set(checked.scopes ?? (kind === 'github' ? GITHUB_SCOPES : ['openid', 'email', 'profile']))],
    allowSignup: checked.allowSignup,
    allowedDomains: checked.allowedDomains,
    exclusive: checked.exclusive,
  };
  await deps.upstream.check({ ...row, createdAt: new Date() });
  const stored = await insertProvider(deps.db, row);
  if (!stored) throw providerExists(checked.name);
  await recordAuditEvent(deps.db, deps, { ...by, type: 'identity_provider_added', details: { name: stored.name, issuer } });
  return stored;
}

export async function removeProvider(deps: ProviderDependencies, name: string, by: AuditActor): Promise<void> {
  const removed = await deleteProvider(deps.db, name);
  if (!removed) throw notFound('identity provider');
  deps.upstream.forget(removed.id);
  await recordAuditEvent(deps.db, deps, { ...by, type: 'identity_provider_removed', details: { name, issuer: removed.issuer } });
}

export { listProviders };

function defaultDisplayName(type: (typeof PROVIDER_TYPES)[number], name: string): string {
  if (type === 'google') return 'Google';
  if (type === 'microsoft') return 'Microsoft';
  if (type === 'github') return 'GitHub';
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** An ES256 key for private_key_jwt at one provider: a JWK with its private part, to seal. */
async function newClientKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'ES256', use: 'sig' };
}

/** The public half of the provider's private_key_jwt key, for the operator to register there. */
function publicClientKey(provider: IdentityProviderRow, keyEncryptionKey: Buffer): JWK | undefined {
  if (!provider.clientKeySealed) return undefined;
  const { d: _private, ...publicKey } = JSON.parse(
    open(provider.clientKeySealed, keyEncryptionKey, clientKeySealingContext(provider.id)),
  ) as JWK;
  return publicKey;
}

/** A provider as the CLI and the admin API show it: never the secret or a private key. */
export function providerJson(provider: IdentityProviderRow, issuer: string, keyEncryptionKey: Buffer) {
  const publicKey = publicClientKey(provider, keyEncryptionKey);
  return {
    name: provider.name,
    type: provider.kind,
    display_name: provider.displayName,
    issuer: provider.issuer,
    client_id: provider.clientId,
    client_auth: provider.clientAuth,
    has_client_secret: provider.clientSecretSealed !== null,
    ...(publicKey ? { client_jwks: { keys: [publicKey] } } : {}),
    scopes: provider.scopes,
    allow_signup: provider.allowSignup,
    allowed_domains: provider.allowedDomains,
    exclusive: provider.exclusive,
    redirect_uri: upstreamCallbackOf(issuer),
    created_at: provider.createdAt.toISOString(),
  };
}
