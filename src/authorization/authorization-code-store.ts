// Authorization codes (RFC 6749 §4.1.2): 256 random bits, stored only hashed, single use, 60 s.
import { randomUUID } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { authorizationCodes, type AuthorizationCodeRow, type AuthorizationRequestRow } from '../db/schema.js';
import { hashOpaqueToken, newOpaqueToken } from '../tokens/opaque-token.js';
import type { LiveBrowserSession } from './browser-session-store.js';

/** RFC 6749 §4.1.2 recommends at most ten minutes; a client exchanges its code at once. */
export const AUTHORIZATION_CODE_SECONDS = 60;

/** A code for the pending request, bound to everything the token request must match. */
export async function issueAuthorizationCode(
  db: Database,
  request: Pick<
    AuthorizationRequestRow,
    'clientId' | 'redirectUri' | 'redirectUriGiven' | 'codeChallenge' | 'nonce' | 'scope' | 'audience'
  >,
  session: LiveBrowserSession,
  now: Date,
): Promise<string> {
  const code = newOpaqueToken();
  await db.insert(authorizationCodes).values({
    codeHash: hashOpaqueToken(code),
    clientId: request.clientId,
    userId: session.userId,
    redirectUri: request.redirectUri,
    redirectUriGiven: request.redirectUriGiven,
    codeChallenge: request.codeChallenge,
    nonce: request.nonce,
    scope: request.scope,
    audience: request.audience,
    authTime: session.authTime,
    amr: session.amr,
    browserSessionId: session.id,
    familyId: randomUUID(),
    createdAt: now,
    expiresAt: new Date(now.getTime() + AUTHORIZATION_CODE_SECONDS * 1000),
  });
  return code;
}

export async function findAuthorizationCode(db: Database, code: string): Promise<AuthorizationCodeRow | undefined> {
  if (code.length > 64) return undefined;
  const [row] = await db
    .select()
    .from(authorizationCodes)
    .where(eq(authorizationCodes.codeHash, hashOpaqueToken(code)));
  return row;
}

/** Spends the code: of concurrent exchanges exactly one gets true. */
export async function spendAuthorizationCode(db: Database, codeHash: string, now: Date): Promise<boolean> {
  const spent = await db
    .update(authorizationCodes)
    .set({ usedAt: now })
    .where(and(eq(authorizationCodes.codeHash, codeHash), isNull(authorizationCodes.usedAt)))
    .returning({ codeHash: authorizationCodes.codeHash });
  return spent.length > 0;
}

/** A spent code came back: marked, so that an exchange still in flight ends its own session. */
export async function markCodeReused(db: Database, codeHash: string, now: Date): Promise<void> {
  await db.update(authorizationCodes).set({ reusedAt: now }).where(eq(authorizationCodes.codeHash, codeHash));
}

export async function codeWasReused(db: Database, codeHash: string): Promise<boolean> {
  const [row] = await db
    .select({ reusedAt: authorizationCodes.reusedAt })
    .from(authorizationCodes)
    .where(eq(authorizationCodes.codeHash, codeHash));
  return row?.reusedAt != null;
}
