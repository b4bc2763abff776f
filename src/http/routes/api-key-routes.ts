import { Hono } from 'hono';
import { z } from 'zod';
import { createApiKey, findOwnApiKey, listApiKeys, revokeApiKey, type ApiKeyPolicy } from '../../api-keys/api-keys.js';
import type { AuditSink } from '../../audit/audit-log.js';
import type { RevocationDependencies } from '../../revocation/ending-sessions.js';
import { apiKeyJson } from '../../representations.js';
import type { AppEnv } from '../app-env.js';
import { readJsonBody } from '../json-body.js';
import type { BearerGuards } from '../middleware/bearer-auth.js';
import { recentSignIn } from '../middleware/recent-sign-in.js';
import { requestContextOf } from '../middleware/request-context.js';
import { NO_STORE } from '../no-store.js';

export interface ApiKeyRouteOptions {
  revocation: RevocationDependencies & AuditSink;
  policy: ApiKeyPolicy;
  guards: BearerGuards;
  now: () => Date;
}

/** What a new key asks for, in the account and admin APIs alike (checked again in api-keys/). */
export const apiKeyBodyFields = {
  name: z.unknown(),
  scopes: z.unknown().optional(),
  audiences: z.unknown(),
  expires_in: z.unknown().optional(),
};

export const apiKeyInput = (body: { name: unknown; scopes?: unknown; audiences: unknown; expires_in?: unknown }) =>
  ({
    name: body.name,
    scopes: body.scopes ?? [],
    audiences: body.audiences,
    ...(body.expires_in === undefined ? {} : { expiresInSeconds: body.expires_in }),
  }) as Parameters<typeof createApiKey>[3];

const createBody = z.object(apiKeyBodyFields).strict();

/**
 * The caller's own API keys (the `account` scope). Creating one is adding a credential, so it needs
 * a recent sign-in, as adding a second factor does; the key is in the answer this once.
 */
export function apiKeyRoutes(options: ApiKeyRouteOptions): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const account = options.guards.account();
  const recentlySignedIn = recentSignIn({ db: options.revocation.db, now: options.now });

  routes.get('/me/api-keys', account, async function listOwnApiKeys(c) {
    const rows = await listApiKeys(options.revocation, { userId: c.get('user').id });
    return c.json({ items: rows.map(apiKeyJson) }, 200, NO_STORE);
  });

  routes.post('/me/api-keys', account, async function createOwnApiKey(c) {
    const body = await readJsonBody(c, createBody);
    const user = await recentlySignedIn(c);
    const by = { actor: `user:${user.id}`, ipAddress: requestContextOf(c).ipAddress };
    const { key, apiKey } = await createApiKey(options.revocation, options.policy, { user }, apiKeyInput(body), by);
    return c.json({ ...apiKeyJson(apiKey), key }, 201, NO_STORE);
  });

  /** Revoking needs no recent sign-in: taking a credential away is always allowed. */
  routes.delete('/me/api-keys/:id', account, async function revokeOwnApiKey(c) {
    const user = c.get('user');
    const row = await findOwnApiKey(options.revocation, c.req.param('id'), { userId: user.id });
    await revokeApiKey(options.revocation, row, { actor: `user:${user.id}`, ipAddress: requestContextOf(c).ipAddress });
    return c.body(null, 204, NO_STORE);
  });

  return routes;
}
