import { randomBytes } from 'node:crypto';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { listConsents, withdrawConsentAndSessions } from '../../authorization/consents.js';
import { checkFormToken, formToken } from '../../authorization/form-tokens.js';
import { pkceChallengeOf } from '../../authorization/pkce.js';
import { accountCallbackOf, ACCOUNT_CLIENT_ID, ensureAccountClient } from '../../clients/account-client.js';
import type { UserRow } from '../../db/schema.js';
import { ApiError, InvalidPasswordError, invalidForm } from '../../errors.js';
import { ACR_MULTI_FACTOR } from '../../factors/authentication-methods.js';
import { checkRecentSignIn } from '../../factors/mfa-policy.js';
import { passkeyRegistrationOptions, registerPasskey, type PasskeyDependencies } from '../../factors/passkeys.js';
import { qrCodeSvg } from '../../factors/qr-code.js';
import {
  confirmTotp,
  describeFactors,
  enrolTotp,
  hasSecondFactor,
  regenerateRecoveryCodes,
  removeFactor,
  resumeTotpEnrolment,
} from '../../factors/second-factors.js';
import type { GrantDependencies } from '../../grants/grant.js';
import { beginUpstreamLink, type UpstreamFlowDependencies } from '../../authorization/upstream-flow.js';
import { listProviders } from '../../upstream/providers.js';
import { linkedProvidersOf, unlinkUpstreamAccount } from '../../upstream/upstream-accounts.js';
import { authorizationCodeGrant } from '../../grants/authorization-code.js';
import { accountHomePage, addPasskeyPage } from '../../pages/account-home-page.js';
import type { PageBranding } from '../../pages/layout.js';
import { text } from '../../pages/page-text.js';
import { enrolPage, recoveryCodesPage } from '../../pages/second-factor-pages.js';
import type { RevocationDependencies } from '../../revocation/ending-sessions.js';
import type { BrowserSessionPolicy } from '../../authorization/browser-session-store.js';
import { signedInPlacesOf } from '../../sessions/signed-in-places.js';
import type { AccountDependencies } from '../../users/accounts.js';
import { changeOwnPassword, updateProfile, type ProfileDependencies } from '../../users/profile.js';
import { endOwnSession } from '../../users/user-sessions.js';
import type { AppEnv } from '../app-env.js';
import { readForm } from '../form.js';
import type { BearerGuards } from '../middleware/bearer-auth.js';
import { requestContextOf } from '../middleware/request-context.js';
import type { BrowserCookies } from './browser-cookies.js';
import { htmlPage, pageErrorHandler, sentence } from './page-response.js';
import { accountApiKeyForms, ownApiKeys } from './account-api-key-forms.js';
import type { ApiKeyPolicy } from '../../api-keys/api-keys.js';

export interface AccountHomeRouteOptions {
  issuer: string;
  https: boolean;
  grants: GrantDependencies;
  factors: PasskeyDependencies;
  accounts: AccountDependencies;
  profile: ProfileDependencies;
  revocation: RevocationDependencies;
  browserSessions: BrowserSessionPolicy;
  guards: BearerGuards;
  cookies: BrowserCookies;
  branding: PageBranding;
  /** Upstream providers, to link and unlink (upstream-flow.ts). */
  flow: UpstreamFlowDependencies;
  /** API_KEY_MAX_LIFETIME, for the keys made here. */
  apiKeys: ApiKeyPolicy;
}

const uuid = z.uuid();

/**
 * The account page (/account) and its forms: an ordinary client of the issuer (account-client.ts)
 * that signs its user in with the code flow and PKCE, keeps the access token in an HttpOnly cookie,
 * and calls the same domain functions as the account API. Changing how the account signs in, or
 * the password, needs a sign-in of the last five minutes (with the second factor when there is
 * one): otherwise the user is sent to sign in again and comes back here.
 */
export function accountHomeRoutes(options: AccountHomeRouteOptions): Hono<AppEnv> {
  const { branding, factors } = options;
  const routes = new Hono<AppEnv>();
  routes.onError(pageErrorHandler(branding));
  const prefix = options.https ? '__Host-' : '';
  const TOKEN = `${prefix}ti_account`;
  const PKCE = `${prefix}ti_account_pkce`;
  const cookieFlags = { path: '/', httpOnly: true, sameSite: 'Lax', secure: options.https } as const;
  const binding = (c: Context<AppEnv>) => options.cookies.read(c).binding;
  const csrfFor = (c: Context<AppEnv>) => (action: string) => formToken(binding(c), `account:${action}`);

  /** To /authorize as the account page's client, with PKCE; `again` asks for a fresh sign-in. */
  async function signIn(c: Context<AppEnv>, again?: { acrValues?: string }) {
    await ensureAccountClient(options.grants.db, options.grants.clients, options.issuer);
    const state = randomBytes(16).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    setCookie(c, PKCE, `${state}.${verifier}`, { ...cookieFlags, maxAge: 600 });
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: ACCOUNT_CLIENT_ID,
      redirect_uri: accountCallbackOf(options.issuer),
      scope: 'openid profile email account',
      state,
      code_challenge: pkceChallengeOf(verifier),
      code_challenge_method: 'S256',
      ...(again ? { prompt: 'login', ...(again.acrValues ? { acr_values: again.acrValues } : {}) } : {}),
    });
    c.header('Cache-Control', 'no-store');
    return c.redirect(`/authorize?${query}`, 303);
  }

  /** The page's own token, checked like any access token; without a valid one, a sign-in. */
  const tokenGuard = options.guards.accountPage(TOKEN);
  const signedIn: MiddlewareHandler<AppEnv> = async function accountSignedIn(c, next) {
    try {
      await tokenGuard(c, async () => {});
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return signIn(c);
      throw error;
    }
    await next();
  };

  /** A form of the page: its anti-forgery token checked; the fields. */
  async function formOf(c: Context<AppEnv>, action: string) {
    const form = await readForm(c);
    checkFormToken(options.cookies.read(c, { create: false }).binding, `account:${action}`, form.get('csrf'));
    return form;
  }

  /** Changes to sign-in methods and the password: a recent sign-in, or a new one first. */
  async function recentEnough(c: Context<AppEnv>): Promise<Response | undefined> {
    const claims = c.get('accessToken');
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((value): value is string => typeof value === 'string') : [];
    const hasFactor = await hasSecondFactor(factors.db, c.get('user').id);
    try {
      checkRecentSignIn({ authTime: typeof claims.auth_time === 'number' ? claims.auth_time : undefined, amr }, hasFactor, factors.now());
      return undefined;
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'insufficient_user_authentication') throw error;
      return signIn(c, { acrValues: hasFactor ? ACR_MULTI_FACTOR : undefined });
    }
  }

  async function home(c: Context<AppEnv>, said: { notice?: string; error?: string; status?: number } = {}) {
    const user = c.get('user');
    const now = factors.now();
    const [described, places, apps, providers, linked, keys] = await Promise.all([
      describeFactors(factors.db, user.id),
      signedInPlacesOf({ db: factors.db, browserSessions: options.browserSessions }, user.id, now),
      listConsents(factors.db, user.id),
      listProviders(factors.db),
      linkedProvidersOf(factors.db, user.id),
      ownApiKeys(options.revocation, user.id),
    ]);
    const sid = c.get('accessToken').sid;
    const currentBrowser = places.clients.find((session) => session.id === sid)?.browserSessionId;
    const sessions = [
      ...places.browsers.map((session) => ({
        id: session.id,
        label: text.sessionBrowser,
        lastSeenAt: session.lastSeenAt,
        current: session.id === currentBrowser,
      })),
      ...places.clients
        .filter((session) => session.clientId !== ACCOUNT_CLIENT_ID)
        .map((session) => ({ id: session.id, label: session.clientName ?? '', lastSeenAt: session.lastUsedAt, current: false })),
    ];
    const page = accountHomePage(branding, {
      username: user.username,
      fullName: user.fullName,
      email: user.email,
      factors: described.factors,
      recoveryCodesLeft: described.recoveryCodesLeft,
      sessions,
      apps: apps.map((app) => ({ clientId: app.clientId, clientName: app.clientName, scopes: app.scopes })),
      apiKeys: keys,
      providers: providers.map((provider) => {
        const link = linked.find((found) => found.providerId === provider.id);
        const csrf = csrfFor(c)(`link:${provider.name}`);
        return {
          name: provider.name,
          displayName: provider.displayName,
          linkedAs: link ? (link.email ?? '') : undefined,
          linkHref: `/account/link?${new URLSearchParams({ provider: provider.name, csrf })}`,
        };
      }),
      csrf: csrfFor(c),
      notice: said.notice,
      error: said.error,
    });
    return htmlPage(c, page, { status: said.status });
  }

  /** A refusal the user can fix, in the pages' words: the page again, saying so. */
  function fixable(error: unknown): string | undefined {
    if (!(error instanceof ApiError) || error.status >= 500 || error.status === 401 || error.status === 429) return undefined;
    if (error instanceof InvalidPasswordError) return text.passwordRefused[error.rule](options.accounts.policy);
    if (error.code === 'incorrect_password') return text.invalidCredentials;
    if (error.code === 'invalid_code') return text.invalidCode;
    if (error.code === 'invalid_passkey') return text.passkeyNotCreated;
    return error.code === 'invalid_form' ? undefined : sentence(error.description);
  }
  async function orSay(c: Context<AppEnv>, run: () => Promise<Response>) {
    try {
      return await run();
    } catch (error) {
      const said = fixable(error);
      if (said === undefined) throw error;
      return home(c, { error: said, status: 400 });
    }
  }
  const ipOf = (c: Context<AppEnv>) => requestContextOf(c).ipAddress;
  const sidOf = (c: Context<AppEnv>) => {
    const sid = c.get('accessToken').sid;
    return typeof sid === 'string' && uuid.safeParse(sid).success ? sid : undefined;
  };
  const owner = (c: Context<AppEnv>): UserRow => c.get('user');

  routes.get('/account', signedIn, (c) => home(c));
  accountApiKeyForms(
    routes,
    { signedIn, formOf, recentEnough, orSay, home, owner, ipOf },
    { revocation: options.revocation, policy: options.apiKeys, branding },
  );

  /** The code flow's end (RFC 6749 §4.1.2): state and PKCE checked, the code exchanged as any client would. */
  routes.get('/account/callback', async function accountCallback(c) {
    const [state, verifier] = (getCookie(c, PKCE) ?? '').split('.');
    deleteCookie(c, PKCE, cookieFlags);
    const code = c.req.query('code');
    if (!state || !verifier || c.req.query('state') !== state || !code) throw invalidForm();
    if (c.req.query('iss') !== options.issuer) throw invalidForm();
    const client = await ensureAccountClient(options.grants.db, options.grants.clients, options.issuer);
    const params = new URLSearchParams({ code, code_verifier: verifier, redirect_uri: accountCallbackOf(options.issuer) });
    const tokens = await authorizationCodeGrant.handle(
      { get: (name) => params.get(name) ?? undefined, getAll: (name) => params.getAll(name) },
      client,
      options.grants,
      requestContextOf(c),
    );
    setCookie(c, TOKEN, tokens.access_token, { ...cookieFlags, maxAge: tokens.expires_in });
    c.header('Cache-Control', 'no-store');
    return c.redirect('/account', 303);
  });

  routes.post('/account/profile', signedIn, async function saveProfile(c) {
    const form = await formOf(c, 'profile');
    return orSay(c, async () => {
      const fullName = (form.get('full_name') ?? '').trim();
      const user = await updateProfile(options.profile, owner(c), { fullName: fullName === '' ? null : fullName }, ipOf(c));
      c.set('user', { ...owner(c), ...user });
      return home(c, { notice: text.saved });
    });
  });

  routes.post('/account/password', signedIn, async function changePassword(c) {
    const form = await formOf(c, 'password');
    const again = await recentEnough(c);
    if (again) return again;
    return orSay(c, async () => {
      await changeOwnPassword(options, owner(c), {
        currentPassword: form.get('current_password') ?? '',
        newPassword: form.get('new_password') ?? '',
        ipAddress: ipOf(c),
        keepSessionId: sidOf(c),
      });
      return home(c, { notice: text.passwordChanged });
    });
  });

  routes.post('/account/factors/remove', signedIn, async function removeMethod(c) {
    const form = await formOf(c, 'factors/remove');
    const again = await recentEnough(c);
    if (again) return again;
    return orSay(c, async () => {
      await removeFactor(factors, owner(c), form.get('factor') ?? '', { ipAddress: ipOf(c) });
      return home(c, { notice: text.saved });
    });
  });

  routes.post('/account/recovery-codes', signedIn, async function newCodes(c) {
    await formOf(c, 'recovery-codes');
    const again = await recentEnough(c);
    if (again) return again;
    const codes = await regenerateRecoveryCodes(factors, owner(c), { ipAddress: ipOf(c) });
    return htmlPage(c, recoveryCodesPage(branding, { codes, next: { href: '/account' } }));
  });

  routes.post('/account/sessions/end', signedIn, async function endSession(c) {
    const form = await formOf(c, 'sessions/end');
    return orSay(c, async () => {
      const session = form.get('session') ?? '';
      if (!uuid.safeParse(session).success) return home(c, { error: sentence('no such session'), status: 400 });
      await endOwnSession(options.revocation, { userId: owner(c).id, clientId: ACCOUNT_CLIENT_ID, ipAddress: ipOf(c) }, session);
      return home(c, { notice: text.saved });
    });
  });

  routes.post('/account/apps/withdraw', signedIn, async function withdraw(c) {
    const form = await formOf(c, 'apps/withdraw');
    return orSay(c, async () => {
      await withdrawConsentAndSessions(options.revocation, owner(c).id, form.get('client') ?? '', { ipAddress: ipOf(c) });
      return home(c, { notice: text.saved });
    });
  });

  /** Linking an upstream account: proof of this account (a recent sign-in) here, of the other there. */
  routes.get('/account/link', signedIn, async function linkProvider(c) {
    const provider = c.req.query('provider') ?? '';
    checkFormToken(options.cookies.read(c, { create: false }).binding, `account:link:${provider}`, c.req.query('csrf'));
    const again = await recentEnough(c);
    if (again) return again;
    const accountClient = await ensureAccountClient(options.grants.db, options.grants.clients, options.issuer);
    const link = { userId: owner(c).id, provider, accountClient, redirectUri: accountCallbackOf(options.issuer) };
    const location = await beginUpstreamLink(options.flow, link, options.cookies.read(c));
    c.header('Cache-Control', 'no-store');
    return c.redirect(location, 303);
  });

  routes.post('/account/providers/unlink', signedIn, async function unlinkProvider(c) {
    const form = await formOf(c, 'providers/unlink');
    const again = await recentEnough(c);
    if (again) return again;
    return orSay(c, async () => {
      await unlinkUpstreamAccount(options.flow, owner(c), form.get('provider') ?? '', { ipAddress: ipOf(c) });
      return home(c, { notice: text.saved });
    });
  });

  /** An authenticator app: the QR code, then its first code; the first factor shows recovery codes. */
  routes.get('/account/authenticator', signedIn, async function showAuthenticator(c) {
    const again = await recentEnough(c);
    if (again) return again;
    const enrolment = await enrolTotp(factors, owner(c), text.methodKind.totp);
    return authenticatorPage(c, enrolment);
  });

  routes.post('/account/authenticator', signedIn, async function confirmAuthenticator(c) {
    const form = await formOf(c, 'authenticator');
    const again = await recentEnough(c);
    if (again) return again;
    const factorId = form.get('factor') ?? '';
    try {
      const confirmed = await confirmTotp(factors, owner(c), {
        factorId,
        code: form.get('code') ?? '',
        ipAddress: ipOf(c),
        keepFamilyId: sidOf(c),
      });
      if (confirmed.recoveryCodes)
        return htmlPage(c, recoveryCodesPage(branding, { codes: confirmed.recoveryCodes, next: { href: '/account' } }));
      return home(c, { notice: text.saved });
    } catch (error) {
      if (!(error instanceof ApiError) || (error.code !== 'invalid_code' && error.status !== 429)) throw error;
      const message = error.status === 429 ? text.throttled(Number(error.headers['Retry-After'])) : text.invalidCode;
      return authenticatorPage(c, await resumeTotpEnrolment(factors, owner(c), factorId, text.methodKind.totp), message);
    }
  });

  async function authenticatorPage(c: Context<AppEnv>, enrolment: { id: string; secret: string; otpauthUri: string }, error?: string) {
    const page = enrolPage(branding, {
      intro: text.accountEnrolIntro,
      form: { action: '/account/authenticator', fields: { csrf: csrfFor(c)('authenticator'), factor: enrolment.id } },
      secret: enrolment.secret,
      qrCodeSvg: await qrCodeSvg(enrolment.otpauthUri),
      error,
    });
    return htmlPage(c, page, { status: error ? 400 : 200 });
  }

  /** A passkey: options for the browser on the page, whose script posts the new credential back. */
  routes.get('/account/passkey', signedIn, async function showPasskey(c) {
    const again = await recentEnough(c);
    if (again) return again;
    return passkeyPage(c);
  });

  routes.post('/account/passkey', signedIn, async function addPasskey(c) {
    const form = await formOf(c, 'passkey');
    const again = await recentEnough(c);
    if (again) return again;
    try {
      const name = (form.get('name') ?? '').trim().slice(0, 64) || 'Passkey';
      const response = parseJson(form.get('credential') ?? '');
      const added = await registerPasskey(factors, owner(c), { response, name, ipAddress: ipOf(c), keepFamilyId: sidOf(c) });
      if (added.recoveryCodes) return htmlPage(c, recoveryCodesPage(branding, { codes: added.recoveryCodes, next: { href: '/account' } }));
      return home(c, { notice: text.saved });
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'invalid_passkey') throw error;
      return passkeyPage(c, text.passkeyNotCreated);
    }
  });

  async function passkeyPage(c: Context<AppEnv>, error?: string) {
    const options = JSON.stringify(await passkeyRegistrationOptions(factors, owner(c)));
    const page = addPasskeyPage(branding, { csrf: csrfFor(c)('passkey'), options, error });
    return htmlPage(c, page, { status: error ? 400 : 200, scripts: true });
  }

  return routes;
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}
