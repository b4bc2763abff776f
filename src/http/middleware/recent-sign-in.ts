import type { Context } from 'hono';
import type { Database } from '../../db/database.js';
import type { UserRow } from '../../db/schema.js';
import { hasSecondFactor } from '../../factors/second-factors.js';
import { checkRecentSignIn } from '../../factors/mfa-policy.js';
import type { AppEnv } from '../app-env.js';

/**
 * The caller of an account route that adds or removes a credential, once their sign-in is recent
 * enough, and multi-factor when they have a factor (factors/mfa-policy.ts); a 401 asking for a new
 * sign-in otherwise. A token made from an API key names no sign-in, so it never passes.
 */
export function recentSignIn(deps: { db: Database; now: () => Date }) {
  return async function recentlySignedIn(c: Context<AppEnv>): Promise<UserRow> {
    const user = c.get('user');
    const claims = c.get('accessToken');
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((value): value is string => typeof value === 'string') : [];
    const authTime = typeof claims.auth_time === 'number' ? claims.auth_time : undefined;
    checkRecentSignIn({ authTime, amr }, await hasSecondFactor(deps.db, user.id), deps.now());
    return user;
  };
}
