import { Hono } from 'hono';
import { z } from 'zod';
import { notFound } from '../../errors.js';
import { instant } from '../../instant.js';
import { revokeIssuedBefore, type IncidentScope } from '../../revocation/incident-revocation.js';
import { findAccount } from '../../users/user-directory.js';
import { adminActor, type AdminRouteOptions } from './admin-common.js';
import type { AppEnv } from '../app-env.js';
import { readJsonBody } from '../json-body.js';
import { NO_STORE } from '../no-store.js';

const incidentBody = z
  .object({
    all: z.literal(true, { error: 'all must be true when given' }).optional(),
    sub: z.uuid('sub must be a user id').optional(),
    client_id: z.string().min(1).max(128).optional(),
    before: instant.optional(),
  })
  .strict()
  .refine((body) => [body.all, body.sub, body.client_id].filter((given) => given !== undefined).length === 1, {
    error: 'give exactly one of all, sub and client_id',
  });

/**
 * POST /admin/revocations: incident response. Every access token of a user, of a client, or of
 * everyone, issued at or before `before` (default now), is refused by every verifier, and the
 * sessions signed in by then end (revocation/incident-revocation.ts).
 */
export function adminRevocationRoutes(options: AdminRouteOptions): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post('/admin/revocations', async function revokeInIncident(c) {
    const body = await readJsonBody(c, incidentBody);
    let scope: IncidentScope;
    if (body.sub !== undefined) {
      if (!(await findAccount(options.accounts.db, body.sub))) throw notFound('user');
      scope = { userId: body.sub };
    } else if (body.client_id !== undefined) {
      if (!(await options.clients.find(body.client_id))) throw notFound('client');
      scope = { clientId: body.client_id };
    } else {
      scope = { all: true };
    }
    const by = adminActor(c);
    const revoked = await revokeIssuedBefore(options.revocation, scope, { before: body.before, audit: by });
    return c.json(
      { kind: revoked.kind, value: revoked.value, before: revoked.before.toISOString(), sessions_ended: revoked.sessionsEnded },
      201,
      NO_STORE,
    );
  });

  return routes;
}
