import { Hono } from 'hono';
import { listConsents, withdrawConsentAndSessions } from '../../authorization/consents.js';
import { notFound } from '../../errors.js';
import type { RevocationDependencies } from '../../revocation/ending-sessions.js';
import type { AppEnv } from '../app-env.js';
import type { BearerGuards } from '../middleware/bearer-auth.js';
import { NO_STORE } from '../no-store.js';
import { requestContextOf } from '../middleware/request-context.js';

const CLIENT_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** What the caller allowed third-party clients, and withdrawing it (OpenID Connect Core §3.1.2.4). */
export function consentRoutes(options: { guards: BearerGuards; revocation: RevocationDependencies }): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const user = options.guards.account();
  const { db } = options.revocation;

  routes.get('/me/consents', user, async function listMyConsents(c) {
    const consents = await listConsents(db, c.get('user').id);
    return c.json(
      consents.map((consent) => ({
        client_id: consent.clientId,
        client_name: consent.clientName,
        scopes: consent.scopes,
        granted_at: consent.grantedAt.toISOString(),
      })),
      200,
      NO_STORE,
    );
  });

  /** The consent goes, and the client's sessions for the caller end with their tokens. */
  routes.delete('/me/consents/:client_id', user, async function withdrawMyConsent(c) {
    const clientId = c.req.param('client_id');
    if (!CLIENT_ID.test(clientId)) throw notFound('consent');
    await withdrawConsentAndSessions(options.revocation, c.get('user').id, clientId, { ipAddress: requestContextOf(c).ipAddress });
    return c.body(null, 204);
  });

  return routes;
}
