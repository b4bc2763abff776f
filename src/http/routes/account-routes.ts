import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { AuditSink } from '../../audit/audit-log.js';
import { signupDisabled } from '../../errors.js';
import type { RevocationDependencies } from '../../revocation/ending-sessions.js';
import { signUp, type AccountDependencies } from '../../users/accounts.js';
import { changeOwnPassword, updateProfile, type ProfileDependencies } from '../../users/profile.js';
import type { User } from '../../users/user-store.js';
import type { BearerGuards } from '../middleware/bearer-auth.js';
import type { AppEnv } from '../app-env.js';
import { readJsonBody } from '../json-body.js';
import { accountJson, userJson } from '../../representations.js';
import { requestContextOf } from '../middleware/request-context.js';
import { NO_STORE } from '../no-store.js';

export interface AccountRouteOptions {
  accounts: AccountDependencies;
  profile: ProfileDependencies;
  revocation: RevocationDependencies & AuditSink;
  guards: BearerGuards;
  signupEnabled: boolean;
  signupRateLimit: MiddlewareHandler<AppEnv>;
}

/** Passwords are checked by the policy, which names the rule broken; here only their type and a bound. */
const password = z.string().min(1).max(4096);
const email = z.email('not a valid email address').max(254);
const fullName = z.string().trim().min(1).max(200);

const signupBody = z
  .object({
    username: z.string(),
    email: z.string(),
    password,
    full_name: fullName.optional(),
  })
  .strict();

const profileBody = z
  .object({
    full_name: fullName.nullable().optional(),
    email: email.optional(),
    current_password: password.optional(),
  })
  .strict()
  .refine((body) => body.full_name !== undefined || body.email !== undefined, {
    message: 'nothing to change: give full_name or email',
  });

const passwordChangeBody = z.object({ current_password: password, new_password: password }).strict();

/** Self-service accounts: signup, the caller's profile, and a password change. */
export function accountRoutes(options: AccountRouteOptions): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post('/signup', options.signupRateLimit, async function signup(c) {
    if (!options.signupEnabled) throw signupDisabled();
    const body = await readJsonBody(c, signupBody);
    const input = { username: body.username, email: body.email, fullName: body.full_name };
    const user = await signUp(options.accounts, options.revocation, input, body.password, requestContextOf(c).ipAddress);
    return c.json(userJson(user), 201, NO_STORE);
  });

  const account = options.guards.account();
  const shown = (c: Context<AppEnv>, user: User) => accountJson(user, c.get('principal').scope);

  routes.get('/me', account, function showProfile(c) {
    const { passwordHash: _, ...user } = c.get('user');
    return c.json(shown(c, user), 200, NO_STORE);
  });

  routes.patch('/me', account, async function changeProfile(c) {
    const body = await readJsonBody(c, profileBody);
    const change = { fullName: body.full_name, email: body.email, currentPassword: body.current_password };
    const user = await updateProfile(options.profile, c.get('user'), change, requestContextOf(c).ipAddress);
    return c.json(shown(c, user), 200, NO_STORE);
  });

  /** A new password ends every other session; the caller's own goes on (OWASP ASVS 5 §6.2.3). */
  routes.post('/me/password', account, async function changeMyPassword(c) {
    const body = await readJsonBody(c, passwordChangeBody);
    const sid = c.get('accessToken').sid;
    const updated = await changeOwnPassword(options, c.get('user'), {
      currentPassword: body.current_password,
      newPassword: body.new_password,
      ipAddress: requestContextOf(c).ipAddress,
      keepSessionId: typeof sid === 'string' && z.uuid().safeParse(sid).success ? sid : undefined,
    });
    return c.json(shown(c, updated), 200, NO_STORE);
  });

  return routes;
}
