import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { completePasswordReset, requestPasswordReset, type PasswordResetDependencies } from '../../users/password-reset.js';
import type { AppEnv } from '../app-env.js';
import { readJsonBody } from '../json-body.js';
import { requestContextOf } from '../middleware/request-context.js';
import { NO_STORE } from '../no-store.js';

export interface PasswordResetRouteOptions extends PasswordResetDependencies {
  forgotRateLimit: MiddlewareHandler<AppEnv>;
  /** Work still running after its answer was sent; shutdown waits for it. */
  background: Set<Promise<void>>;
}

const forgotBody = z.object({ email: z.email('not a valid email address').max(254) }).strict();
const resetBody = z.object({ token: z.string().min(1).max(256), new_password: z.string().min(1).max(4096) }).strict();

const ACCEPTED = { status: 'accepted', message: 'if an account has this address, a reset link is on its way' };

/** Looks the address up and mails the link after the answer is sent; shutdown waits for it. */
export function mailResetLinkLater(options: PasswordResetRouteOptions, c: Context<AppEnv>, email: string, signIn?: string): void {
  const logger = c.get('logger');
  const work = requestPasswordReset(options, email, requestContextOf(c).ipAddress, signIn)
    .catch((error: unknown) => logger.error({ err: error }, 'could not send a password reset email'))
    .finally(() => options.background.delete(work));
  options.background.add(work);
}

/** Password reset by email (OWASP Forgot Password Cheat Sheet). */
export function passwordResetRoutes(options: PasswordResetRouteOptions): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  /**
   * The same 202 and body for every address, given before any lookup: neither the answer nor its
   * timing tells whether an account exists. The lookup and the mail happen afterwards.
   */
  routes.post('/password/forgot', options.forgotRateLimit, async function forgotPassword(c) {
    const { email } = await readJsonBody(c, forgotBody);
    mailResetLinkLater(options, c, email);
    return c.json(ACCEPTED, 202, NO_STORE);
  });

  /** Spends the emailed token for a new password; every session of the user ends. */
  routes.post('/password/reset', async function resetPassword(c) {
    const body = await readJsonBody(c, resetBody);
    await completePasswordReset(options, body.token, body.new_password, requestContextOf(c).ipAddress);
    return c.body(null, 204, NO_STORE);
  });

  return routes;
}
