// Workload identity federation: the external issuers whose tokens a workload may present as its
// client assertion, and which of their workloads are which client. Used by the CLI, the admin API
// (every change audited) and the verifier (federated-assertion.ts).
import { z } from 'zod';
import type { Database } from '../db/database.js';
import type { FederatedIdentityRow, TrustedIssuerRow } from '../db/schema.js';
import { findClient } from '../clients/client-registry.js';
import { isUniqueViolation } from '../db/query-error.js';
import { recordAuditEvent, type AuditEvent, type AuditSink } from '../audit/audit-log.js';
import { alreadyTrusted, invalidRequest, notFound } from '../errors.js';
import { isServedUrl, publicJwks, SERVED_URL_RULE } from '../clients/public-keys.js';
import { OutboundRefused, type Outbound } from '../outbound/outbound-fetch.js';
import { outboundUrlProblem } from '../outbound/outbound-policy.js';
import { deleteBinding, deleteTrustedIssuer, insertBinding, insertTrustedIssuer, isTrustedIssuer } from './federation-store.js';

export { federationOf, listBindings, listTrustedIssuers } from './federation-store.js';

/**
 * A token is refused once older than this, however long its issuer let it live: a Kubernetes
 * service-account token may live a day, and a copied one should not work that long.
 */
export const DEFAULT_MAX_TOKEN_AGE_SECONDS = 300;

export const newTrustedIssuerSchema = z
  .object({
    issuer: z.string().max(2048).refine(isServedUrl, `the issuer is ${SERVED_URL_RULE}`),
    jwks: publicJwks.optional(),
    jwksUri: z.string().max(2048).refine(isServedUrl, `jwks_uri is ${SERVED_URL_RULE}`).optional(),
    /** Read the jwks_uri from the issuer's metadata when it is added (discoverJwksUri). */
    discover: z.boolean().optional(),
    audience: z
      .string()
      .min(1, 'an audience is required: the exact aud its tokens carry for this issuer')
      .max(512)
      .regex(/^\S+$/, 'an audience has no spaces'),
    maxTokenAgeSeconds: z.number().int().min(30).max(86_400).default(DEFAULT_MAX_TOKEN_AGE_SECONDS),
  })
  .refine((issuer) => [issuer.jwks, issuer.jwksUri, issuer.discover || undefined].filter((given) => given !== undefined).length === 1, {
    path: ['jwks'],
    message: "the issuer's keys: exactly one of jwks, jwks_uri and discover",
  });

export type NewTrustedIssuer = z.input<typeof newTrustedIssuerSchema>;

/** Who changes the federation settings, for the audit trail: the admin API's caller, or `cli:<user>`. */
export interface FederationChange {
  db: Database;
  audit: AuditSink;
  /** Which key URLs this deployment fetches, and how discovery fetches (outbound/). */
  outbound: Outbound;
  actor?: string;
  ipAddress?: string;
}

const record = (change: FederationChange, event: Pick<AuditEvent, 'type' | 'clientId' | 'details'>) =>
  recordAuditEvent(change.db, change.audit, { ...event, actor: change.actor, ipAddress: change.ipAddress });

/** A change and its audit event commit together, or neither does. */
const inTransaction = <T>(change: FederationChange, run: (tx: FederationChange) => Promise<T>): Promise<T> =>
  change.db.transaction((db) => run({ ...change, db }));

/**
 * Trusts an issuer. With `discover`, its jwks_uri is read from its metadata now (once); the keys
 * themselves are fetched when a token first needs them.
 */
export async function addTrustedIssuer(change: FederationChange, input: NewTrustedIssuer): Promise<TrustedIssuerRow> {
  const checked = newTrustedIssuerSchema.parse(input);
  for (const [field, url] of [
    ['issuer', checked.issuer],
    ['jwks_uri', checked.jwksUri],
  ] as const) {
    const problem = url === undefined ? undefined : outboundUrlProblem(url, change.outbound.policy);
    if (problem) throw invalidRequest(`${field}: ${problem}`);
  }
  if (checked.discover) checked.jwksUri = await discoverJwksUri(checked.issuer, change.outbound);
  try {
    return await inTransaction(change, async (tx) => {
      const row = await insertTrustedIssuer(tx.db, {
        issuer: checked.issuer,
        jwks: checked.jwks ?? null,
        jwksUri: checked.jwksUri ?? null,
        audience: checked.audience,
        maxTokenAgeSeconds: checked.maxTokenAgeSeconds,
      });
      await record(tx, { type: 'trusted_issuer_added', details: { issuer: row.issuer, audience: row.audience } });
      return row;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw alreadyTrusted(checked.issuer);
    throw error;
  }
}

/** Stops trusting an issuer, named by its id or its `iss`; its bindings go with it. 404 when it was not trusted. */
export async function removeTrustedIssuer(change: FederationChange, idOrIssuer: string): Promise<void> {
  const by = z.uuid().safeParse(idOrIssuer).success ? { id: idOrIssuer } : { issuer: idOrIssuer };
  await inTransaction(change, async (tx) => {
    const removed = await deleteTrustedIssuer(tx.db, by);
    if (!removed) throw notFound('trusted issuer');
    await record(tx, { type: 'trusted_issuer_removed', details: { issuer: removed.issuer } });
  });
}

const REGISTERED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti'];

export const newBindingSchema = z
  .object({
    clientId: z.string().min(1),
    issuer: z.string().min(1),
    subject: z.string().min(1).max(1024).optional(),
    /** Claims that must equal these strings exactly (GitHub's `repository`, `ref`, ...). */
    claims: z
      .record(z.string(), z.string().min(1).max(1024))
      .default({})
      .refine(
        (claims) => Object.keys(claims).every((name) => /^[A-Za-z0-9_.:-]{1,100}$/.test(name)),
        'a claim name is letters, digits and _ . : -',
      )
      .refine(
        (claims) => !Object.keys(claims).some((name) => REGISTERED_CLAIMS.includes(name)),
        // Those are checked for every token already; a rule on `sub` is --subject.
        'a claim rule names no registered claim (iss, sub, aud, exp, iat, nbf, jti)',
      ),
  })
  .refine((binding) => binding.subject !== undefined || Object.keys(binding.claims).length > 0, {
    // Binding a whole issuer would make every workload it knows (every repository on GitHub) this client.
    path: ['subject'],
    message: 'a binding needs a subject or at least one claim rule',
  });

export type NewBinding = z.input<typeof newBindingSchema>;

/** Lets a workload of a trusted issuer authenticate as a client that allows federation. */
export async function bindWorkload(change: FederationChange, input: NewBinding): Promise<FederatedIdentityRow> {
  const checked = newBindingSchema.parse(input);
  return inTransaction(change, async ({ db: tx, ...audit }) => {
    const client = await findClient(tx, checked.clientId);
    if (!client) throw notFound('client');
    if (!client.federated) {
      throw invalidRequest(`client ${checked.clientId} does not allow federation: its auth_methods must include federation`);
    }
    if (!(await isTrustedIssuer(tx, checked.issuer))) throw invalidRequest(`${checked.issuer} is not a trusted issuer`);
    const row = await insertBinding(tx, {
      clientId: checked.clientId,
      issuer: checked.issuer,
      subject: checked.subject ?? null,
      claims: checked.claims,
    });
    await record({ ...audit, db: tx }, { type: 'workload_bound', clientId: row.clientId, details: { binding_id: row.id } });
    return row;
  });
}

/** Ends one binding. 404 when there is none with this id. */
export async function unbindWorkload(change: FederationChange, id: string): Promise<void> {
  if (!z.uuid().safeParse(id).success) throw notFound('binding');
  await inTransaction(change, async (tx) => {
    const removed = await deleteBinding(tx.db, id);
    if (!removed) throw notFound('binding');
    await record(tx, { type: 'workload_unbound', clientId: removed.clientId, details: { binding_id: id } });
  });
}

/** Whether a verified token's claims meet every condition of a binding. */
export function bindingMatches(identity: Pick<FederatedIdentityRow, 'subject' | 'claims'>, claims: Record<string, unknown>): boolean {
  if (identity.subject !== null && claims.sub !== identity.subject) return false;
  return Object.entries(identity.claims).every(([name, value]) => claims[name] === value);
}

/**
 * OpenID Connect Discovery §4: the issuer's jwks_uri, from its metadata, which must name the same
 * issuer (§4.3). Read once, when the operator adds the issuer. Nothing fetched is echoed in an
 * error: the document is the issuer's, and an error goes back to whoever asked.
 */
export async function discoverJwksUri(issuer: string, outbound: Outbound): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let metadata: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const response = await outbound.fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'error' });
    if (!response.ok) throw new Error(`it answered HTTP ${response.status}`);
    metadata = (await response.json().catch(() => {
      throw new Error('it is not JSON');
    })) as typeof metadata;
  } catch (error) {
    const reason =
      error instanceof OutboundRefused || /^it /.test((error as Error).message) ? (error as Error).message : 'it could not be fetched';
    throw invalidRequest(`cannot read ${url}: ${reason}`);
  }
  if (metadata?.issuer !== issuer) throw invalidRequest(`${url} names another issuer than ${issuer}`);
  if (typeof metadata.jwks_uri !== 'string') throw invalidRequest(`${url} has no jwks_uri`);
  // The issuer's word decides what this server fetches later: the same rule as a jwks_uri typed in.
  if (!isServedUrl(metadata.jwks_uri) || outboundUrlProblem(metadata.jwks_uri, outbound.policy)) {
    throw invalidRequest(`${url} names a jwks_uri that is not ${SERVED_URL_RULE}`);
  }
  return metadata.jwks_uri;
}
