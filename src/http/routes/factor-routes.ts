import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { confirmTotp, describeFactors, enrolTotp, regenerateRecoveryCodes, removeFactor } from '../../factors/second-factors.js';
import { passkeyRegistrationOptions, registerPasskey, type PasskeyDependencies } from '../../factors/passkeys.js';
import { factorJson, factorsJson } from '../../representations.js';
import type { BearerGuards } from '../middleware/bearer-auth.js';
import type { AppEnv } from '../app-env.js';
import { readJsonBody } from '../json-body.js';
import { recentSignIn } from '../middleware/recent-sign-in.js';
import { requestContextOf } from '../middleware/request-context.js';
import { NO_STORE } from '../no-store.js';

export interface FactorRouteOptions {
  factors: PasskeyDependencies;
  guards: BearerGuards;
}

const factorName = z.string().trim().min(1).max(64);
const enrolBody = z.object({ name: factorName.optional() }).strict();
const confirmBody = z.object({ code: z.string().min(1).max(32) }).strict();
/** `response` is `PublicKeyCredential.toJSON()` of the new credential, checked in factors/passkeys.ts. */
const passkeyBody = z.object({ name: factorName.optional(), response: z.record(z.string(), z.unknown()) }).strict();
const sessionId = z.uuid();

/**
 * The caller's second factors, for apps that build their own account screens (the `account`
 * scope). Reading them needs any token; changing them a recent sign-in (factors/mfa-policy.ts).
 */
export function factorRoutes(options: FactorRouteOptions): Hono<AppEnv> {
  const { factors } = options;
  const routes = new Hono<AppEnv>();
  const account = options.guards.account();

  const recentlySignedIn = recentSignIn(factors);
  const sid = (c: Context<AppEnv>) => {
    const value = c.get('accessToken').sid;
    return typeof value === 'string' && sessionId.safeParse(value).success ? value : undefined;
  };

  routes.get('/me/factors', account, async function listFactors(c) {
    return c.json(factorsJson(await describeFactors(factors.db, c.get('user').id)), 200, NO_STORE);
  });

  /** The app's secret, once, as a key URI (for a QR code); it signs nothing until confirmed. */
  routes.post('/me/factors/totp', account, async function addAuthenticatorApp(c) {
    const body = await readJsonBody(c, enrolBody);
    const user = await recentlySignedIn(c);
    const enrolment = await enrolTotp(factors, user, body.name ?? 'Authenticator app');
    return c.json({ id: enrolment.id, otpauth_uri: enrolment.otpauthUri }, 201, NO_STORE);
  });

  /** The first code turns the app on; the user's first factor comes with recovery codes, shown this once. */
  routes.post('/me/factors/totp/:id/confirm', account, async function confirmAuthenticatorApp(c) {
    const body = await readJsonBody(c, confirmBody);
    const user = await recentlySignedIn(c);
    const id = c.req.param('id');
    const { recoveryCodes } = await confirmTotp(factors, user, {
      factorId: id,
      code: body.code,
      ipAddress: requestContextOf(c).ipAddress,
      keepFamilyId: sid(c),
    });
    const confirmed = (await describeFactors(factors.db, user.id)).factors.find((factor) => factor.id === id);
    return c.json(
      { ...(confirmed ? factorJson(confirmed) : {}), ...(recoveryCodes ? { recovery_codes: recoveryCodes } : {}) },
      200,
      NO_STORE,
    );
  });

  routes.delete('/me/factors/:id', account, async function removeOwnFactor(c) {
    const user = await recentlySignedIn(c);
    await removeFactor(factors, user, c.req.param('id'), { ipAddress: requestContextOf(c).ipAddress });
    return c.body(null, 204, NO_STORE);
  });

  /** Options for `navigator.credentials.create()` (WebAuthn), for the next five minutes. */
  routes.post('/me/passkeys/registration', account, async function beginPasskeyRegistration(c) {
    const user = await recentlySignedIn(c);
    return c.json(await passkeyRegistrationOptions(factors, user), 200, NO_STORE);
  });

  /** The new credential, answering the open registration; a first factor comes with recovery codes. */
  routes.post('/me/passkeys', account, async function addPasskey(c) {
    const body = await readJsonBody(c, passkeyBody);
    const user = await recentlySignedIn(c);
    const { passkey, recoveryCodes } = await registerPasskey(factors, user, {
      response: body.response,
      name: body.name ?? 'Passkey',
      ipAddress: requestContextOf(c).ipAddress,
      keepFamilyId: sid(c),
    });
    return c.json({ ...factorJson(passkey), ...(recoveryCodes ? { recovery_codes: recoveryCodes } : {}) }, 201, NO_STORE);
  });

  /** New recovery codes in place of the old ones, shown this once. */
  routes.post('/me/recovery-codes', account, async function newRecoveryCodes(c) {
    const user = await recentlySignedIn(c);
    const codes = await regenerateRecoveryCodes(factors, user, { ipAddress: requestContextOf(c).ipAddress });
    return c.json({ recovery_codes: codes }, 200, NO_STORE);
  });

  return routes;
}
