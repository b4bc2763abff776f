import { Hono } from 'hono';
import { z } from 'zod';
import { listAuditEvents, type AuditEventRow } from '../../audit/audit-log.js';
import { rotateSigningKeys } from '../../keys/key-rotation.js';
import { instant } from '../../instant.js';
import { decodeCursor } from '../../page-cursor.js';
import { describeAllKeys, describeKey } from '../../keys/key-description.js';
import { adminActor, UUID, type AdminRouteOptions } from './admin-common.js';
import { adminClientRoutes } from './admin-client-routes.js';
import { adminUserRoutes } from './admin-user-routes.js';
import { adminRevocationRoutes } from './admin-revocation-routes.js';
import { adminFederationRoutes } from './admin-federation-routes.js';
import { adminProviderRoutes } from './admin-provider-routes.js';
import { adminApiKeyRoutes } from './admin-api-key-routes.js';
import { revokeSigningKey } from '../../keys/key-revocation.js';
import { notFound } from '../../errors.js';
import type { AppEnv } from '../app-env.js';
import { pageParameters, readQuery } from '../query.js';
import { NO_STORE } from '../no-store.js';

export type { AdminRouteOptions } from './admin-common.js';

const auditQuery = z
  .object({
    type: z
      .string()
      .regex(/^[a-z_]{1,64}$/)
      .optional(),
    user_id: z.uuid().optional(),
    client_id: z.string().max(128).optional(),
    actor: z.string().max(200).optional(),
    since: instant.optional(),
    until: instant.optional(),
    ...pageParameters,
  })
  .strict();

function auditEventJson(event: AuditEventRow) {
  return {
    id: event.id,
    type: event.type,
    occurred_at: event.occurredAt.toISOString(),
    actor: event.actor,
    user_id: event.userId,
    client_id: event.clientId,
    session_id: event.familyId,
    ip_address: event.ipAddress,
    details: event.details,
  };
}

/**
 * The admin API. Every route needs scope `admin` in an access token for this issuer, and for a
 * user's token the role `admin` (http/middleware/bearer-auth.ts); every change writes an audit event naming
 * the actor.
 */
export function adminRoutes(options: AdminRouteOptions): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.use('/admin/*', options.guards.admin());
  routes.route('/', adminUserRoutes(options));
  routes.route('/', adminClientRoutes(options));
  routes.route('/', adminRevocationRoutes(options));
  routes.route('/', adminFederationRoutes(options));
  routes.route('/', adminProviderRoutes(options));
  routes.route('/', adminApiKeyRoutes(options));

  routes.get('/admin/keys', async function listKeys(c) {
    return c.json(
      { items: await describeAllKeys(options.accounts.db, options.keyRetentionSeconds, options.keyRotationIntervalSeconds) },
      200,
      NO_STORE,
    );
  });

  routes.post('/admin/keys/rotate', async function rotateSigningKey(c) {
    const by = adminActor(c);
    const keys = await rotateSigningKeys({ ...options.revocation, rotateKeys: options.keyRing.rotate }, by);
    return c.json(describeKey(keys.access, 'access', Date.now(), 0), 201, NO_STORE);
  });

  /** A leaked key: out of the JWKS, no longer signing, its tokens refused everywhere (keys/key-revocation.ts). */
  routes.post('/admin/keys/:kid/revoke', async function revokeLeakedKey(c) {
    const kid = c.req.param('kid');
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(kid)) throw notFound('signing key');
    const by = adminActor(c);
    const deps = {
      ...options.revocation,
      revokeKey: options.keyRing.revoke,
      keysRefreshIntervalSeconds: options.keysRefreshIntervalSeconds,
    };
    const revoked = await revokeSigningKey(deps, kid, by);
    return c.json({ kid, purpose: revoked.purpose, status: 'revoked', replaced_by: revoked.replacedBy ?? null }, 200, NO_STORE);
  });

  routes.get('/admin/audit', async function listAudit(c) {
    const query = readQuery(c, auditQuery);
    const page = await listAuditEvents(
      options.accounts.db,
      { type: query.type, userId: query.user_id, clientId: query.client_id, actor: query.actor, since: query.since, until: query.until },
      { limit: query.limit, cursor: query.cursor === undefined ? undefined : decodeCursor(query.cursor, UUID) },
    );
    return c.json({ items: page.items.map(auditEventJson), next_cursor: page.nextCursor }, 200, NO_STORE);
  });

  return routes;
}
