import { Hono } from 'hono';
import type { Logger } from 'pino';
import { databaseClientDirectory, type ClientDirectory } from './clients/client-directory.js';
import { listClientScopes } from './clients/client-registry.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { notFound } from './errors.js';
import { limitBodies } from './http/middleware/body-limit.js';
import { refuseUnsafeUrls } from './http/middleware/input-text.js';
import type { AppEnv } from './http/app-env.js';
import { discoveryRoutes } from './http/routes/discovery-routes.js';
import { errorResponse } from './http/error-response.js';
import { requestDeadline } from './http/middleware/request-deadline.js';
import { closeConnectionsWhenDraining, healthRoutes, type Lifecycle, type ReadinessCheck } from './http/routes/health-routes.js';
import { measureRequests, metricsRoutes } from './http/routes/metrics-routes.js';
import { openApiRoutes } from './http/routes/openapi-routes.js';
import { homeRoute } from './http/browser/home-route.js';
import { relyingPartyOf, type PasskeyDependencies } from './factors/passkeys.js';
import type { Metrics } from './metrics/metrics.js';
import { securityHeaders } from './http/middleware/browser-policy.js';
import { corsPolicy } from './http/middleware/cors.js';
import { clientAddress } from './http/middleware/request-context.js';
import { requestLogger } from './http/middleware/request-logger.js';
import { requestTracing } from './http/middleware/request-tracing.js';
import type { OutageLog } from './outage-log.js';
import { tokenRoutes } from './http/routes/token-routes.js';
import { revocationRoutes } from './http/routes/revocation-routes.js';
import { sessionRoutes } from './http/routes/session-routes.js';
import { userInfoRoutes } from './http/routes/userinfo-routes.js';
import { authorizeRoutes } from './http/browser/authorize-routes.js';
import { browserCookies } from './http/browser/browser-cookies.js';
import { endSessionRoutes } from './http/browser/end-session-routes.js';
import { consentRoutes } from './http/routes/consent-routes.js';
import type { KeyRing } from './keys/key-ring.js';
import type { Denylist } from './denylist/denylist.js';
import type { PasswordHasher } from './users/password-hasher.js';
import type { WindowCounter } from './throttle/window-counter.js';
import { throttleKeyOf } from './users/sign-in.js';
import { createLoginThrottle } from './throttle/login-throttle.js';
import { bearerGuards } from './http/middleware/bearer-auth.js';
import { accountRoutes } from './http/routes/account-routes.js';
import { factorRoutes } from './http/routes/factor-routes.js';
import { apiKeyRoutes } from './http/routes/api-key-routes.js';
import { revocationFeedRoutes } from './http/routes/revocation-feed-routes.js';
import { createRevocationFeed, type RevocationFeed } from './revocation/revocation-feed.js';
import { accountHomeRoutes } from './http/browser/account-home-routes.js';
import { createUpstreamClients } from './upstream/upstream-clients.js';
import type { UpstreamFlowDependencies } from './authorization/upstream-flow.js';
import { adminRoutes } from './http/admin/admin-routes.js';
import { docsRoutes } from './http/routes/docs-routes.js';
import { passwordResetRoutes, type PasswordResetRouteOptions } from './http/routes/password-reset-routes.js';
import { accountPageRoutes } from './http/browser/account-page-routes.js';
import { ipRateLimit } from './http/middleware/rate-limit.js';
import { keyRetentionSeconds } from './keys/key-store.js';
import type { Mailer } from './mail/mailer.js';
import type { GrantDependencies } from './grants/grant.js';
import { createAssertionVerifier, type ClientAssertionVerifiers, type ReplayCache } from './clients/client-assertion.js';
import { createFederatedAssertionVerifier } from './federation/federated-assertion.js';
import { adminContextOf } from './composition.js';
import { createIpBudget } from './throttle/ip-budget.js';
import type { RevocationRouteOptions } from './http/routes/revocation-routes.js';
import type { SessionPolicy } from './sessions/refresh-sessions.js';
import { issuedAfter, type TokenSigner } from './tokens/access-token.js';
import type { AccountDependencies } from './users/accounts.js';

/** Request bodies past this are refused with 413 before anything parses them. */
export const BODY_LIMIT_BYTES = 16 * 1024;

export interface AppDependencies {
  config: Config;
  db: Database;
  keyRing: KeyRing;
  /** Seals secrets at rest (signing keys, authenticator-app secrets): KEY_ENCRYPTION_KEY, or the embedded mode's own. */
  keyEncryptionKey: Buffer;
  hasher: PasswordHasher;
  denylist: Denylist;
  /** Where sign-in attempts are counted: Redis when configured, in-process otherwise. */
  failureCounter: WindowCounter;
  /** Client lookups for authentication: cached in the server (see clients/client-directory.ts). */
  clients?: ClientDirectory;
  /** Per-IP request counts in one-minute windows, for the rate limits; same store as above. */
  rateCounter: WindowCounter;
  /** The `jti`s of client assertions already used (private_key_jwt); same store as above. */
  assertionReplays: ReplayCache;
  mailer: Mailer;
  /** Work that goes on after its response (password-reset mail); shutdown waits for it. */
  background: Set<Promise<void>>;
  logger: Logger;
  /** Tells outages once (outage-log.ts); without it each 503 is one line. */
  outages?: OutageLog;
  readinessChecks: ReadinessCheck[];
  lifecycle: Lifecycle;
  metrics: Metrics;
  /** Serve GET /metrics on this app (false when METRICS_PORT serves it apart). */
  serveMetrics: boolean;
  /** The revocation feed this instance serves (its lag is a metric); one on `db` when not given. */
  revocationFeed?: RevocationFeed;
  now?: () => Date;
}

/**
 * The composition root: wires routes to their dependencies. No I/O happens here; runtime.ts opens
 * what `AppDependencies` holds, and tests pass their own (test/support/in-process-app.ts). The
 * smaller objects below are the typed slices each group of routes needs.
 */
export function createApp(deps: AppDependencies): Hono<AppEnv> {
  const { config, db, keyRing } = deps;
  const clients = deps.clients ?? databaseClientDirectory(db);
  const now = deps.now ?? (() => new Date());
  const signer: TokenSigner = {
    issuer: config.issuer,
    keyRing,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    now,
    issuedAt: (token) => issuedAfter(now(), deps.denylist.latestCutoff(token)),
  };
  const sessionPolicy: SessionPolicy = {
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
    maxLifetimeSeconds: config.refreshTokenMaxLifetimeSeconds,
    reuseGraceSeconds: config.refreshReuseGraceSeconds,
  };

  const app = new Hono<AppEnv>();
  // Outermost when tracing is on (OTEL_*): the access line and everything after carry its trace.
  if (config.tracing) app.use(requestTracing());
  app.use(requestLogger({ logger: deps.logger, outages: deps.outages }));
  app.use(closeConnectionsWhenDraining(deps.lifecycle));
  app.use(requestDeadline({ seconds: config.requestDeadlineSeconds }));
  app.use(measureRequests(deps.metrics));
  app.use(clientAddress({ trustProxy: config.trustProxy }));
  app.use(securityHeaders({ https: config.issuer.startsWith('https://') }));
  app.use(corsPolicy(config.corsOrigins));
  app.use(limitBodies(BODY_LIMIT_BYTES));
  app.use(refuseUnsafeUrls());

  app.route('/', healthRoutes({ checks: deps.readinessChecks, lifecycle: deps.lifecycle }));
  app.route('/', discoveryRoutes({ issuer: config.issuer, keyRing, supportedScopes: () => listClientScopes(db) }));
  const onAuditEvent = deps.metrics.onAuditEvent;
  // What admin actions need, built as for the CLI (composition.ts); others' URLs (client and
  // trusted-issuer keys, discovery) are fetched under its one outbound policy.
  const { outbound } = adminContextOf({ config, db, logger: deps.logger, denylist: deps.denylist, keyRing });
  const loginThrottle = createLoginThrottle(deps.failureCounter, config.loginThrottle, () => deps.metrics.loginThrottled.inc());
  /** A per-IP budget in one-minute windows, shared through Redis when there is one. */
  const perIp = (name: string, limit: number, description = 'too many requests from this address; retry later') =>
    createIpBudget(deps.rateCounter, { name, limit, description, onLimited: () => deps.metrics.rateLimited.inc({ endpoint: name }) });
  // Anyone can send a wrong secret or a JWT from an unknown issuer, and a federated refusal writes
  // an audit row kept for months: past the limit, a refusal is 429 and writes nothing.
  const refusals = perIp(
    'client_authentication',
    config.rateLimits.clientAuthFailures,
    'too many failed client authentications from this address; retry later',
  );
  const assertions: ClientAssertionVerifiers = {
    refusals,
    ownKey: createAssertionVerifier({
      issuer: config.issuer,
      replays: deps.assertionReplays,
      jwksCooldownSeconds: config.clientJwksCooldownSeconds,
      fetch: outbound.fetch,
    }),
    federated: createFederatedAssertionVerifier({
      db,
      clients,
      replays: deps.assertionReplays,
      jwksCooldownSeconds: config.clientJwksCooldownSeconds,
      fetch: outbound.fetch,
      audit: { logger: deps.logger, onAuditEvent },
      refusals,
    }),
  };
  const grantDeps: GrantDependencies = {
    db,
    clients,
    assertions,
    signer,
    hasher: deps.hasher,
    loginThrottle,
    logger: deps.logger,
    denylist: deps.denylist,
    sessionPolicy,
    onAuditEvent,
    mfaRequired: config.mfaRequired,
    tokenExchange: {
      maxChain: config.tokenExchange.maxChain,
      apiKeyRefusals: perIp('api_key', config.rateLimits.apiKeyFailures, 'too many refused API keys from this address; retry later'),
    },
  };
  app.route('/', tokenRoutes(grantDeps, deps.metrics));
  const guards = bearerGuards({ db, clients, keyRing, denylist: deps.denylist, issuer: config.issuer });
  const rateLimited = (name: string, limit: number) => ipRateLimit(perIp(name, limit));
  // One budget per IP for the API and the page alike.
  const signupRateLimit = rateLimited('signup', config.rateLimits.signup);
  const revocation: RevocationRouteOptions = {
    db,
    denylist: deps.denylist,
    logger: deps.logger,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    onAuditEvent,
    keyRing,
    issuer: config.issuer,
    guards,
    now: signer.now,
    assertions,
    introspectionRateLimit: rateLimited('introspect', config.rateLimits.introspection),
    clients,
    mfaRequired: config.mfaRequired,
  };
  const accounts: AccountDependencies = {
    db,
    hasher: deps.hasher,
    policy: { minLength: config.passwords.minLength, maxLength: config.passwords.maxLength },
  };
  const factors: PasskeyDependencies = {
    ...revocation,
    keyEncryptionKey: deps.keyEncryptionKey,
    loginThrottle,
    mailer: deps.mailer,
    issuerName: config.pages.displayName,
    relyingParty: relyingPartyOf(config.issuer, config.pages.displayName),
    now,
  };
  const profile = { db, hasher: deps.hasher, loginThrottle, logger: deps.logger, onAuditEvent };
  const upstream = createUpstreamClients({ keyEncryptionKey: deps.keyEncryptionKey, outbound });
  const https = config.issuer.startsWith('https://');
  const cookies = browserCookies({ https, sessionMaxSeconds: config.browserSessions.maxSeconds });
  const branding = { displayName: config.pages.displayName };
  const flow: UpstreamFlowDependencies = {
    ...grantDeps,
    clients,
    issuer: config.issuer,
    browserSessions: config.browserSessions,
    pendingSignIns: perIp('authorize', config.rateLimits.pendingAuthorizations, 'too many sign-ins begun from this address; retry later'),
    factors,
    mfaRequired: config.mfaRequired,
    upstream,
    accounts,
    now,
  };
  app.route(
    '/',
    authorizeRoutes({
      flow,
      cookies,
      branding,
      accentColor: config.pages.accentColor,
      signupEnabled: config.signupEnabled,
    }),
  );
  app.route(
    '/',
    endSessionRoutes({
      endSession: { clients, keyRing, issuer: config.issuer, browserSessions: config.browserSessions, revocation, now },
      cookies,
      branding,
    }),
  );
  app.route('/', consentRoutes({ guards, revocation }));
  app.route('/', userInfoRoutes(guards));
  app.route('/', revocationRoutes(revocation));
  app.route(
    '/',
    revocationFeedRoutes({
      feed: deps.revocationFeed ?? createRevocationFeed({ db }),
      guards,
      lifecycle: deps.lifecycle,
      maxConnections: config.revocationFeedMaxConnections,
      metrics: deps.metrics,
    }),
  );
  app.route('/', sessionRoutes({ ...revocation, browserSessions: config.browserSessions }));
  app.route(
    '/',
    accountRoutes({
      accounts,
      profile,
      revocation,
      guards,
      signupEnabled: config.signupEnabled,
      signupRateLimit,
    }),
  );
  app.route('/', factorRoutes({ factors, guards }));
  app.route('/', apiKeyRoutes({ revocation, policy: config.apiKeys, guards, now }));
  const passwordReset: PasswordResetRouteOptions = {
    accounts,
    revocation,
    mailer: deps.mailer,
    policy: config.passwordReset,
    forgotRateLimit: rateLimited('password_forgot', config.rateLimits.passwordForgot),
    background: deps.background,
    // A reset password may be used at once, even by an account throttled for failed sign-ins.
    onPasswordReset: (userId) => loginThrottle.clear(throttleKeyOf({ id: userId }, '')),
  };
  app.route('/', passwordResetRoutes(passwordReset));
  app.route(
    '/',
    accountPageRoutes({
      reset: passwordReset,
      audit: revocation,
      signupEnabled: config.signupEnabled,
      signupRateLimit,
      cookies,
      branding,
    }),
  );
  app.route(
    '/',
    adminRoutes({
      accounts,
      revocation,
      guards,
      keyRing,
      clients,
      keyRetentionSeconds: keyRetentionSeconds(config),
      keyRotationIntervalSeconds: config.keyRotationIntervalSeconds,
      keysRefreshIntervalSeconds: config.keysRefreshIntervalSeconds,
      clientSecretOverlapSeconds: config.clientSecretOverlapSeconds,
      outbound,
      mailer: deps.mailer,
      apiKeys: config.apiKeys,
      providers: {
        db,
        logger: deps.logger,
        onAuditEvent,
        keyEncryptionKey: deps.keyEncryptionKey,
        outbound,
        upstream,
        issuer: config.issuer,
      },
    }),
  );
  app.route(
    '/',
    accountHomeRoutes({
      issuer: config.issuer,
      https,
      grants: grantDeps,
      factors,
      accounts,
      profile,
      revocation,
      browserSessions: config.browserSessions,
      guards,
      cookies,
      branding,
      flow,
      apiKeys: config.apiKeys,
    }),
  );
  app.route('/', homeRoute({ branding, signupEnabled: config.signupEnabled }));
  app.route('/', openApiRoutes(config.issuer));
  app.route('/', docsRoutes());
  if (deps.serveMetrics) app.route('/', metricsRoutes(deps.metrics));

  app.notFound((c) => errorResponse(notFound(), c));
  app.onError(errorResponse);
  return app;
}
