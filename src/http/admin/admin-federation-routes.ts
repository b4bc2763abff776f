import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { describeIssues, invalidRequest, notFound } from '../../errors.js';
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
} from '../../federation/trusted-issuers.js';
import { UUID, type AdminRouteOptions } from './admin-common.js';
import { actorOf } from '../middleware/bearer-auth.js';
import { requestContextOf } from '../middleware/request-context.js';
import type { AppEnv } from '../app-env.js';
import { readJsonBody } from '../json-body.js';
import { NO_STORE } from '../no-store.js';
import { bindingJson, trustedIssuerJson } from '../../representations.js';

/** The HTTP bodies in the API's snake_case; the rules themselves are the domain's (federation/). */
const issuerBody = z
  .object({
    issuer: z.unknown(),
    audience: z.unknown(),
    jwks: z.unknown().optional(),
    jwks_uri: z.unknown().optional(),
    discover: z.unknown().optional(),
    max_token_age_seconds: z.unknown().optional(),
  })
  .strict();
const bindingBody = z
  .object({ client_id: z.unknown(), issuer: z.unknown(), subject: z.unknown().optional(), claims: z.unknown().optional() })
  .strict();

function checked<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw invalidRequest(describeIssues(parsed.error.issues));
  return parsed.data;
}

/**
 * /admin/federation: the external issuers whose workloads authenticate with their platform tokens,
 * and which workload is which client (the same domain functions as `token-issuer federation`).
 */
export function adminFederationRoutes(options: AdminRouteOptions): Hono<AppEnv> {
  const { db } = options.accounts;
  const routes = new Hono<AppEnv>();
  const changeBy = (c: Context<AppEnv>): FederationChange => ({
    db,
    audit: options.revocation,
    outbound: options.outbound,
    actor: actorOf(c.get('caller')),
    ipAddress: requestContextOf(c).ipAddress,
  });

  routes.get('/admin/federation/issuers', async function listIssuers(c) {
    const [issuers, bindings] = await Promise.all([listTrustedIssuers(db), listBindings(db)]);
    return c.json({ items: issuers.map((issuer) => trustedIssuerJson(issuer, bindings)) }, 200, NO_STORE);
  });

  routes.post('/admin/federation/issuers', async function trustIssuer(c) {
    const body = await readJsonBody(c, issuerBody);
    const input = checked(newTrustedIssuerSchema, {
      issuer: body.issuer,
      audience: body.audience,
      jwks: body.jwks,
      jwksUri: body.jwks_uri,
      discover: body.discover,
      maxTokenAgeSeconds: body.max_token_age_seconds,
    });
    const row = await addTrustedIssuer(changeBy(c), input);
    return c.json(trustedIssuerJson(row, []), 201, NO_STORE);
  });

  routes.delete('/admin/federation/issuers/:id', async function distrustIssuer(c) {
    await removeTrustedIssuer(changeBy(c), idParameter(c, 'trusted issuer'));
    return c.body(null, 204, NO_STORE);
  });

  routes.post('/admin/federation/bindings', async function bind(c) {
    const body = await readJsonBody(c, bindingBody);
    const input = checked(newBindingSchema, { clientId: body.client_id, issuer: body.issuer, subject: body.subject, claims: body.claims });
    return c.json(bindingJson(await bindWorkload(changeBy(c), input)), 201, NO_STORE);
  });

  routes.delete('/admin/federation/bindings/:id', async function unbind(c) {
    await unbindWorkload(changeBy(c), idParameter(c, 'binding'));
    return c.body(null, 204, NO_STORE);
  });

  return routes;
}

/** The `:id` path parameter: a UUID, or there is no such thing. */
function idParameter(c: Context<AppEnv>, what: string): string {
  const id = c.req.param('id') ?? '';
  if (!UUID.test(id)) throw notFound(what);
  return id;
}
