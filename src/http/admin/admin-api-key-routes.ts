import { Hono } from 'hono';
import { z } from 'zod';
import { createApiKey, findOwnApiKey, listApiKeys, revokeApiKey, type ApiKeyOwner } from '../../api-keys/api-keys.js';
import { findClient } from '../../clients/client-registry.js';
import { invalidRequest } from '../../errors.js';
import { apiKeyJson } from '../../representations.js';
import { findAccount } from '../../users/user-directory.js';
import type { AppEnv } from '../app-env.js';
import { readJsonBody } from '../json-body.js';
import { readQuery } from '../query.js';
import { NO_STORE } from '../no-store.js';
import { apiKeyBodyFields, apiKeyInput } from '../routes/api-key-routes.js';
import { adminActor, type AdminRouteOptions } from './admin-common.js';

const listQuery = z
  .object({ user_id: z.uuid().optional(), client_id: z.string().min(1).max(128).optional() })
  .strict()
  .refine((query) => !(query.user_id && query.client_id), { message: 'give user_id or client_id, not both' });

const createBody = z
  .object({ ...apiKeyBodyFields, user_id: z.string().optional(), client_id: z.string().optional() })
  .strict()
  .refine((body) => (body.user_id === undefined) !== (body.client_id === undefined), {
    message: 'a key belongs to a user (user_id) or to a machine client (client_id): give one of them',
  });

/** /admin/api-keys: keys of users and machine clients, made, listed and revoked as in the CLI. */
export function adminApiKeyRoutes(options: AdminRouteOptions): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const { db } = options.accounts;

  routes.get('/admin/api-keys', async function listAllApiKeys(c) {
    const query = readQuery(c, listQuery);
    const rows = await listApiKeys(options.revocation, { userId: query.user_id, clientId: query.client_id });
    return c.json({ items: rows.map(apiKeyJson) }, 200, NO_STORE);
  });

  routes.post('/admin/api-keys', async function createAnApiKey(c) {
    const body = await readJsonBody(c, createBody);
    const owner = await ownerOf(body);
    const { key, apiKey } = await createApiKey(options.revocation, options.apiKeys, owner, apiKeyInput(body), adminActor(c));
    return c.json({ ...apiKeyJson(apiKey), key }, 201, NO_STORE);
  });

  routes.get('/admin/api-keys/:id', async function showApiKey(c) {
    return c.json(apiKeyJson(await findOwnApiKey(options.revocation, c.req.param('id'))), 200, NO_STORE);
  });

  routes.delete('/admin/api-keys/:id', async function revokeAnApiKey(c) {
    const row = await findOwnApiKey(options.revocation, c.req.param('id'));
    await revokeApiKey(options.revocation, row, adminActor(c));
    return c.body(null, 204, NO_STORE);
  });

  async function ownerOf(body: { user_id?: string; client_id?: string }): Promise<ApiKeyOwner> {
    if (body.user_id !== undefined) {
      const user = z.uuid().safeParse(body.user_id).success ? await findAccount(db, body.user_id) : undefined;
      if (!user) throw invalidRequest('no user has that user_id');
      return { user };
    }
    const client = body.client_id && body.client_id.length <= 128 ? await findClient(db, body.client_id) : undefined;
    if (!client) throw invalidRequest('no client has that client_id');
    return { client };
  }

  return routes;
}
