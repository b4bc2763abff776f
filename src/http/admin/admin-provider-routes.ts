import { Hono } from 'hono';
import { z } from 'zod';
import { addProvider, listProviders, providerJson, removeProvider } from '../../upstream/providers.js';
import { adminActor, type AdminRouteOptions } from './admin-common.js';
import type { AppEnv } from '../app-env.js';
import { readJsonBody } from '../json-body.js';
import { NO_STORE } from '../no-store.js';

/** The HTTP body in the API's snake_case; the rules are the domain's (upstream/providers.ts). */
const providerBody = z
  .object({
    name: z.string(),
    type: z.string(),
    issuer: z.string().optional(),
    tenant: z.string().optional(),
    client_id: z.string(),
    client_secret: z.string().optional(),
    private_key_jwt: z.boolean().optional(),
    scopes: z.array(z.string()).optional(),
    display_name: z.string().optional(),
    allow_signup: z.boolean().optional(),
    allowed_domains: z.array(z.string()).optional(),
    exclusive: z.boolean().optional(),
  })
  .strict();

/** /admin/providers: the upstream identity providers of the login page (the same functions as `token-issuer providers`). */
export function adminProviderRoutes(options: AdminRouteOptions): Hono<AppEnv> {
  const { providers } = options;
  const routes = new Hono<AppEnv>();

  routes.get('/admin/providers', async function listUpstreamProviders(c) {
    const rows = await listProviders(providers.db);
    return c.json({ items: rows.map((row) => providerJson(row, providers.issuer, providers.keyEncryptionKey)) }, 200, NO_STORE);
  });

  /** Discovery answers first; the client secret is sealed and never shown again. */
  routes.post('/admin/providers', async function addUpstreamProvider(c) {
    const body = await readJsonBody(c, providerBody);
    const input = {
      name: body.name,
      type: body.type as 'oidc',
      issuer: body.issuer,
      tenant: body.tenant,
      clientId: body.client_id,
      clientSecret: body.client_secret,
      privateKeyJwt: body.private_key_jwt,
      scopes: body.scopes,
      displayName: body.display_name,
      allowSignup: body.allow_signup,
      allowedDomains: body.allowed_domains,
      exclusive: body.exclusive,
    };
    const row = await addProvider(providers, input, adminActor(c));
    return c.json(providerJson(row, providers.issuer, providers.keyEncryptionKey), 201, NO_STORE);
  });

  routes.delete('/admin/providers/:name', async function removeUpstreamProvider(c) {
    await removeProvider(providers, c.req.param('name'), adminActor(c));
    return c.body(null, 204);
  });

  return routes;
}
