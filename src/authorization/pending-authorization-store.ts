// Authorization requests waiting for the user (login, consent), kept server-side and bound to the
// browser that made them; the pages only carry the request's id.
import { and, eq, gt } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { authorizationRequests, type AuthorizationRequestRow } from '../db/schema.js';
import { invalidForm } from '../errors.js';
import type { AuthorizationRequest } from './authorization-request.js';
import { hashOpaqueToken } from '../tokens/opaque-token.js';

/** Long enough to type a password, look for it and come back; short enough not to pile up. */
export const PENDING_AUTHORIZATION_SECONDS = 600;

export async function savePendingAuthorization(
  db: Database,
  request: AuthorizationRequest,
  binding: string,
  now: Date,
): Promise<AuthorizationRequestRow> {
  const [row] = await db
    .insert(authorizationRequests)
    .values({
      bindingHash: hashOpaqueToken(binding),
      clientId: request.client.id,
      redirectUri: request.redirectUri,
      redirectUriGiven: request.redirectUriGiven,
      scope: request.scope,
      audience: request.audience,
      state: request.state ?? null,
      nonce: request.nonce ?? null,
      codeChallenge: request.codeChallenge,
      forceConsent: request.prompt.has('consent'),
      loginHint: request.loginHint ?? null,
      acrValues: request.acrValues,
      createdAt: now,
      expiresAt: new Date(now.getTime() + PENDING_AUTHORIZATION_SECONDS * 1000),
    })
    .returning();
  return row!;
}

/**
 * The pending request `id`, if this browser (its binding cookie) made it and it has not expired.
 * A form post must also carry the request's anti-forgery token (see formToken).
 */
export async function findPendingAuthorization(
  db: Database,
  id: string | undefined,
  binding: string | undefined,
  now: Date,
): Promise<AuthorizationRequestRow> {
  if (!id || !binding || !/^[0-9a-f-]{36}$/.test(id)) throw invalidForm();
  const [row] = await db
    .select()
    .from(authorizationRequests)
    .where(
      and(
        eq(authorizationRequests.id, id),
        eq(authorizationRequests.bindingHash, hashOpaqueToken(binding)),
        gt(authorizationRequests.expiresAt, now),
      ),
    );
  if (!row) throw invalidForm();
  return row;
}

/** The user signed in (or their session was accepted) for this request. */
export async function attachBrowserSession(db: Database, id: string, browserSessionId: string): Promise<void> {
  await db.update(authorizationRequests).set({ browserSessionId }).where(eq(authorizationRequests.id, id));
}

/**
 * The first factor passed for this request (a password, or the live session that must step up),
 * the second still to come. Nothing else may be recorded for it meanwhile.
 */
export async function recordFirstFactor(
  db: Database,
  id: string,
  firstFactor: { userId: string; amr: string[]; at: Date; browserSessionId?: string },
): Promise<void> {
  await db
    .update(authorizationRequests)
    .set({
      firstFactorUserId: firstFactor.userId,
      firstFactorAmr: firstFactor.amr,
      firstFactorAt: firstFactor.at,
      browserSessionId: firstFactor.browserSessionId ?? null,
    })
    .where(eq(authorizationRequests.id, id));
}

/**
 * A request sent upstream: the provider, the `state`, `nonce` and PKCE verifier of that request,
 * and, for a link from the account page, whose account it links.
 */
export async function recordUpstreamRequest(
  db: Database,
  id: string,
  upstream: { providerId: string; state: string; nonce: string; verifier: string; linkUserId?: string | undefined },
): Promise<void> {
  await db
    .update(authorizationRequests)
    .set({
      upstreamProviderId: upstream.providerId,
      upstreamState: upstream.state,
      upstreamNonce: upstream.nonce,
      upstreamVerifier: upstream.verifier,
      linkUserId: upstream.linkUserId ?? null,
    })
    .where(eq(authorizationRequests.id, id));
}

/**
 * The pending request an upstream callback answers, taken once: its `state` is cleared in the same
 * statement, so a replayed callback finds nothing; and only in the browser that started it.
 */
export async function takeUpstreamRequest(db: Database, state: string | undefined, binding: string | undefined, now: Date) {
  if (!state || !binding || state.length > 128) throw invalidForm();
  const [before] = await db
    .select()
    .from(authorizationRequests)
    .where(
      and(
        eq(authorizationRequests.upstreamState, state),
        eq(authorizationRequests.bindingHash, hashOpaqueToken(binding)),
        gt(authorizationRequests.expiresAt, now),
      ),
    );
  if (!before) throw invalidForm();
  const taken = await db
    .update(authorizationRequests)
    .set({ upstreamState: null })
    .where(and(eq(authorizationRequests.id, before.id), eq(authorizationRequests.upstreamState, state)))
    .returning({ id: authorizationRequests.id });
  if (taken.length === 0) throw invalidForm();
  return before;
}

/** Once answered (a code, or an error sent to the client), a request cannot be answered again. */
export async function finishPendingAuthorization(db: Database, id: string): Promise<boolean> {
  const deleted = await db
    .delete(authorizationRequests)
    .where(eq(authorizationRequests.id, id))
    .returning({ id: authorizationRequests.id });
  return deleted.length > 0;
}
