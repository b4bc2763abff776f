import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { BrowserSessionPolicy } from '../../authorization/browser-session-store.js';
import { invalidRequest, notFound } from '../../errors.js';
import { logOut, type PresentedTokenDependencies } from '../../revocation/presented-tokens.js';
import { signedInPlacesOf } from '../../sessions/signed-in-places.js';
import { endOwnSession, logOutEverywhere } from '../../users/user-sessions.js';
import type { AppEnv } from '../app-env.js';
import type { BearerGuards } from '../middleware/bearer-auth.js';
import { mediaTypeOf, readForm } from '../form.js';
import { readJson } from '../json-body.js';
import { requestContextOf } from '../middleware/request-context.js';
import { NO_STORE } from '../no-store.js';

export interface SessionRouteOptions extends PresentedTokenDependencies {
  guards: BearerGuards;
  now: () => Date;
  browserSessions: BrowserSessionPolicy;
}

const logoutJsonBody = z.object({ refresh_token: z.string().optional() }).strict();
const sessionNotFound = () => notFound('session');

/**
 * Logout and the caller's sessions (a session is a refresh-token family). Every route takes the
 * caller's own access token for this issuer (`aud` contains the issuer URL); listing and ending
 * sessions is the account API's, so it needs the `account` scope too. Nobody reaches another
 * user's sessions.
 */
export function sessionRoutes(options: SessionRouteOptions): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const user = options.guards.user();
  const account = options.guards.account();

  const ownerOf = (c: Context<AppEnv>) => ({
    userId: c.get('user').id,
    clientId: String(c.get('accessToken').client_id),
    ipAddress: requestContextOf(c).ipAddress,
  });

  /** Ends the session of the presented access token (its `sid`) and of the refresh token, if given. */
  routes.post('/logout', user, async function logout(c) {
    await logOut(options, {
      userId: c.get('user').id,
      accessToken: c.get('accessToken'),
      refreshToken: await optionalRefreshToken(c),
      ipAddress: requestContextOf(c).ipAddress,
    });
    return c.body(null, 204);
  });

  routes.get('/me/sessions', account, async function listSessions(c) {
    const now = options.now();
    const { clients: sessions, browsers } = await signedInPlacesOf(options, c.get('user').id, now);
    const current = c.get('accessToken').sid;
    const clientSessions = sessions.map((session) => ({
      id: session.id,
      kind: 'client' as const,
      client_id: session.clientId as string | null,
      client_name: session.clientName as string | null,
      created_at: session.createdAt.toISOString(),
      last_used_at: session.lastUsedAt.toISOString(),
      expires_at: session.expiresAt.toISOString(),
      user_agent: session.userAgent,
      ip_address: session.ipAddress,
      browser_session_id: session.browserSessionId,
      current: session.id === current,
    }));
    const currentBrowser = sessions.find((session) => session.id === current)?.browserSessionId;
    // Browsers signed in at the login page (single sign-on); ending one ends what started from it.
    const browserSessions = browsers.map((session) => ({
      id: session.id,
      kind: 'browser' as const,
      client_id: null,
      client_name: null,
      created_at: session.createdAt.toISOString(),
      last_used_at: session.lastSeenAt.toISOString(),
      expires_at: session.expiresAt.toISOString(),
      user_agent: session.userAgent,
      ip_address: session.ipAddress,
      browser_session_id: null,
      // The browser where the caller's own session started.
      current: session.id === currentBrowser,
    }));
    const all = [...clientSessions, ...browserSessions].sort((a, b) => b.last_used_at.localeCompare(a.last_used_at));
    return c.json(all, 200, NO_STORE);
  });

  routes.delete('/me/sessions/:id', account, async function revokeOne(c) {
    const id = c.req.param('id');
    if (!z.uuid().safeParse(id).success) throw sessionNotFound();
    await endOwnSession(options, ownerOf(c), id);
    return c.body(null, 204);
  });

  /** Log out everywhere. */
  routes.delete('/me/sessions', account, async function revokeAll(c) {
    await logOutEverywhere(options, ownerOf(c));
    return c.body(null, 204);
  });

  return routes;
}

/** The body of /logout is optional: nothing, a form, or JSON, with at most a refresh_token. */
async function optionalRefreshToken(c: Context): Promise<string | undefined> {
  const raw = await c.req.text();
  if (raw.trim() === '') return undefined;
  if (mediaTypeOf(c) === 'application/json') {
    const parsed = logoutJsonBody.safeParse(await readJson(c));
    if (!parsed.success) throw invalidRequest('the JSON body takes only refresh_token (a string)');
    return parsed.data.refresh_token || undefined;
  }
  // Hono keeps the body read above, so the form reader reads the same text.
  return (await readForm(c)).get('refresh_token');
}
