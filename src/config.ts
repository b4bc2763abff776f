import { z } from 'zod';
import { DEFAULT_SIGNING_ALGORITHM, SIGNING_ALGORITHMS } from './keys/signing-key.js';
import type { TracingSettings } from './tracing/tracing.js';
import { parseTrustedProxies } from './trusted-proxies.js';

/**
 * Every setting comes from the environment through this one schema. `loadConfig` never reads
 * `process.env` itself and never exits: `server.ts` decides what to do with a `ConfigError`.
 */

/** Whole seconds; from 1 unless `min` says 0 is allowed (0 then turns the feature off). */
const seconds = (name: string, fallback: number, max: number, min: 0 | 1 = 1) =>
  z.coerce
    .number({ error: `${name} must be a whole number of seconds` })
    .int(`${name} must be a whole number of seconds`)
    .min(min, min === 1 ? `${name} must be at least 1 second` : `${name} must be between 0 and ${max}`)
    .max(max, min === 1 ? `${name} must be at most ${max} seconds` : `${name} must be between 0 and ${max}`)
    .default(fallback);

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Whole seconds, or a number with a unit (`90s`, `15m`, `12h`, `30d`); `0` or `off` turns the feature off. */
const duration = (name: string, max: number) =>
  z
    .string()
    .transform((value, ctx) => {
      const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
      if (value.trim() === 'off' || match?.[1] === '0') return 0;
      const seconds = match ? Number(match[1]) * DURATION_UNITS[match[2] || 's']! : Number.NaN;
      if (!(seconds >= 1 && seconds <= max)) {
        ctx.addIssue({
          code: 'custom',
          message: `${name} must be off, or a duration such as 3600, 90m, 12h or 30d (at most ${max / 86_400} days)`,
        });
        return z.NEVER;
      }
      return seconds;
    })
    .optional();

const port = (name: string, min: 0 | 1) =>
  z.coerce
    .number({ error: `${name} must be a port number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be between ${min} and 65535`)
    .max(65535, `${name} must be between ${min} and 65535`);

const wholeNumber = (name: string, fallback: number, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a whole number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be between ${min} and ${max}`)
    .max(max, `${name} must be between ${min} and ${max}`)
    .default(fallback);

const base64Key = z.string().refine((value) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 32, {
  message: 'KEY_ENCRYPTION_KEY must be 32 bytes encoded as base64 (generate one with: openssl rand -base64 32)',
});

const urlWithProtocols = (name: string, protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const environmentSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: port('PORT', 0).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    METRICS_PORT: port('METRICS_PORT', 1).optional(),
    ISSUER: urlWithProtocols('ISSUER', ['http:', 'https:'])
      .refine((value) => !/[?#]/.test(value), { message: 'ISSUER must not contain a query or fragment (RFC 8414 §2)' })
      .refine((value) => !value.endsWith('/'), {
        // Tokens carry it exactly as `iss`, and verifiers compare it exactly: one spelling only.
        message:
          'ISSUER must not end with a slash: it is the exact `iss` of every token (https://auth.example.com, not https://auth.example.com/)',
      })
      .optional(),
    DATABASE_URL: urlWithProtocols('DATABASE_URL', ['postgres:', 'postgresql:']).optional(),
    DATA_DIR: z.string().min(1).default('./.data'),
    REDIS_URL: urlWithProtocols('REDIS_URL', ['redis:', 'rediss:']).optional(),
    REDIS_SENTINELS: z
      .string()
      .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'REDIS_SENTINELS must be host:port pairs separated by commas')
      .optional(),
    REDIS_SENTINEL_NAME: z.string().min(1).default('mymaster'),
    REDIS_CLUSTER_NODES: z
      .string()
      .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'REDIS_CLUSTER_NODES must be host:port pairs separated by commas')
      .optional(),
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9:_{}.-]{1,64}$/, 'REDIS_KEY_PREFIX must be 1 to 64 of A-Z a-z 0-9 : _ { } . -')
      .default('token-issuer:'),
    KEY_ENCRYPTION_KEY: base64Key.optional(),
    SIGNING_KEY_SIZE: z.coerce
      .number()
      .refine((bits) => [2048, 3072, 4096].includes(bits), { message: 'SIGNING_KEY_SIZE must be 2048, 3072 or 4096' })
      .default(2048),
    SIGNING_ALGORITHM: z
      .enum(SIGNING_ALGORITHMS, { error: `SIGNING_ALGORITHM must be one of ${SIGNING_ALGORITHMS.join(', ')}` })
      .default(DEFAULT_SIGNING_ALGORITHM),
    // Unset: every 30 days with PostgreSQL, off in the embedded mode (one process, nobody to hand keys to).
    KEY_ROTATION_INTERVAL: duration('KEY_ROTATION_INTERVAL', 365 * 86_400),
    KEYS_REFRESH_INTERVAL: seconds('KEYS_REFRESH_INTERVAL', 30, 3600),
    KEY_ACTIVATION_DELAY: seconds('KEY_ACTIVATION_DELAY', 90, 86_400, 0),
    ACCESS_TOKEN_TTL: seconds('ACCESS_TOKEN_TTL', 900, 86_400),
    REFRESH_TOKEN_TTL: seconds('REFRESH_TOKEN_TTL', 7 * 86_400, 365 * 86_400),
    REFRESH_TOKEN_MAX_LIFETIME: seconds('REFRESH_TOKEN_MAX_LIFETIME', 30 * 86_400, 365 * 86_400),
    // RFC 9700 §4.14.2 leaves room for this: a client whose response was lost retries within
    // seconds (see the failure modes in docs), and a retry gets the very pair it lost.
    REFRESH_REUSE_GRACE_SECONDS: seconds('REFRESH_REUSE_GRACE_SECONDS', 10, 300, 0),
    CLIENT_SECRET_OVERLAP_SECONDS: seconds('CLIENT_SECRET_OVERLAP_SECONDS', 86_400, 30 * 86_400, 0),
    CLIENT_JWKS_COOLDOWN_SECONDS: seconds('CLIENT_JWKS_COOLDOWN_SECONDS', 30, 3600, 0),
    // Loopback hosts that key URLs may name in production too (a local sidecar serving keys).
    KEY_URL_LOOPBACK_HOSTS: z
      .string()
      .regex(/^[A-Za-z0-9.[\]:-]+(,[A-Za-z0-9.[\]:-]+)*$/, 'KEY_URL_LOOPBACK_HOSTS must be hosts (host or host:port) separated by commas')
      .optional(),
    REQUEST_DEADLINE_SECONDS: seconds('REQUEST_DEADLINE_SECONDS', 5, 60),
    // OWASP Password Storage Cheat Sheet: argon2id with m=19 MiB, t=2, p=1 at least.
    ARGON2_MEMORY_KIB: wholeNumber('ARGON2_MEMORY_KIB', 19_456, 19_456, 4_194_304),
    ARGON2_TIME_COST: wholeNumber('ARGON2_TIME_COST', 2, 2, 20),
    ARGON2_PARALLELISM: wholeNumber('ARGON2_PARALLELISM', 1, 1, 16),
    PASSWORD_HASH_CONCURRENCY: wholeNumber('PASSWORD_HASH_CONCURRENCY', 2, 1, 64),
    // NIST SP 800-63B-4: at least 15 characters for a single-factor password; allow at least 64.
    PASSWORD_MIN_LENGTH: wholeNumber('PASSWORD_MIN_LENGTH', 15, 8, 64),
    PASSWORD_MAX_LENGTH: wholeNumber('PASSWORD_MAX_LENGTH', 128, 64, 1024),
    // OWASP Authentication Cheat Sheet: throttle failed logins per account and per source.
    LOGIN_MAX_FAILURES_PER_ACCOUNT: wholeNumber('LOGIN_MAX_FAILURES_PER_ACCOUNT', 5, 1, 1_000_000),
    LOGIN_MAX_FAILURES_PER_IP: wholeNumber('LOGIN_MAX_FAILURES_PER_IP', 50, 1, 1_000_000),
    LOGIN_FAILURE_WINDOW_SECONDS: wholeNumber('LOGIN_FAILURE_WINDOW_SECONDS', 60, 1, 86_400),
    CORS_ORIGINS: z
      .string()
      .refine(
        (value) =>
          value.split(',').every((origin) => {
            try {
              // An origin is scheme://host[:port], nothing more (RFC 6454).
              return new URL(origin.trim()).origin === origin.trim();
            } catch {
              return false;
            }
          }),
        { message: 'CORS_ORIGINS must be exact origins such as https://app.example.com, separated by commas (no *, no path)' },
      )
      .optional(),
    SIGNUP_ENABLED: z.enum(['true', 'false'], { error: 'SIGNUP_ENABLED must be true or false' }).optional(),
    MFA_REQUIRED: z.enum(['true', 'false'], { error: 'MFA_REQUIRED must be true or false' }).default('false'),
    SIGNUP_RATE_LIMIT_PER_IP: wholeNumber('SIGNUP_RATE_LIMIT_PER_IP', 10, 1, 1_000_000),
    PASSWORD_FORGOT_RATE_LIMIT_PER_IP: wholeNumber('PASSWORD_FORGOT_RATE_LIMIT_PER_IP', 5, 1, 1_000_000),
    INTROSPECTION_RATE_LIMIT_PER_IP: wholeNumber('INTROSPECTION_RATE_LIMIT_PER_IP', 600, 1, 1_000_000),
    // Unauthenticated writes, bounded per IP: pending sign-ins stored, and refused client authentications (each audited).
    AUTHORIZE_RATE_LIMIT_PER_IP: wholeNumber('AUTHORIZE_RATE_LIMIT_PER_IP', 120, 1, 1_000_000),
    CLIENT_AUTH_MAX_FAILURES_PER_IP: wholeNumber('CLIENT_AUTH_MAX_FAILURES_PER_IP', 60, 1, 1_000_000),
    API_KEY_MAX_FAILURES_PER_IP: wholeNumber('API_KEY_MAX_FAILURES_PER_IP', 30, 1, 1_000_000),
    API_KEY_MAX_LIFETIME: seconds('API_KEY_MAX_LIFETIME', 365 * 86_400, 5 * 365 * 86_400),
    TOKEN_EXCHANGE_MAX_CHAIN: wholeNumber('TOKEN_EXCHANGE_MAX_CHAIN', 4, 1, 10),
    REVOCATION_FEED_MAX_CONNECTIONS: wholeNumber('REVOCATION_FEED_MAX_CONNECTIONS', 2000, 1, 100_000),
    SMTP_URL: urlWithProtocols('SMTP_URL', ['smtp:', 'smtps:']).optional(),
    MAIL_FROM: z.string().min(3).default('token-issuer <no-reply@localhost>'),
    PASSWORD_RESET_URL: urlWithProtocols('PASSWORD_RESET_URL', ['http:', 'https:'])
      .refine((value) => !value.includes('#'), { message: 'PASSWORD_RESET_URL must not contain a fragment: the token goes there' })
      .optional(),
    PASSWORD_RESET_TTL_SECONDS: seconds('PASSWORD_RESET_TTL_SECONDS', 3600, 86_400),
    // Retention (see retention/prune.ts): how long rows that serve no token any more are kept.
    RETENTION_SPENT_REFRESH_TOKENS_SECONDS: seconds('RETENTION_SPENT_REFRESH_TOKENS_SECONDS', 86_400, 365 * 86_400),
    RETENTION_ENDED_SESSIONS_SECONDS: seconds('RETENTION_ENDED_SESSIONS_SECONDS', 30 * 86_400, 3650 * 86_400),
    RETENTION_AUDIT_EVENTS_SECONDS: seconds('RETENTION_AUDIT_EVENTS_SECONDS', 90 * 86_400, 3650 * 86_400),
    PRUNE_INTERVAL_SECONDS: seconds('PRUNE_INTERVAL_SECONDS', 600, 86_400),
    TRUST_PROXY: z
      .string()
      .refine((value) => value !== 'true', {
        message:
          'TRUST_PROXY=true would trust whatever address a client writes into X-Forwarded-For; set the number of proxies in front of the issuer (e.g. 1) or their addresses',
      })
      .refine((value) => value === 'true' || parseTrustedProxies(value) !== undefined, {
        message:
          'TRUST_PROXY must be false, a number of trusted proxy hops (1 to 99), or proxy addresses and CIDR ranges separated by commas',
      })
      .default('false'),
    BOOTSTRAP_ADMIN_USERNAME: z.string().optional(),
    BOOTSTRAP_ADMIN_EMAIL: z.string().optional(),
    BOOTSTRAP_ADMIN_PASSWORD: z.string().optional(),
    SHUTDOWN_DELAY_SECONDS: seconds('SHUTDOWN_DELAY_SECONDS', 0, 60, 0),
    // The sign-in pages (pages/) and the browser sessions they start (single sign-on).
    ISSUER_DISPLAY_NAME: z.string().trim().min(1).max(80).default('token-issuer'),
    ACCENT_COLOR: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, { message: 'ACCENT_COLOR must be a colour such as #2563eb' })
      .default('#2563eb'),
    BROWSER_SESSION_IDLE_SECONDS: seconds('BROWSER_SESSION_IDLE_SECONDS', 1800, 30 * 86_400),
    BROWSER_SESSION_MAX_SECONDS: seconds('BROWSER_SESSION_MAX_SECONDS', 36_000, 365 * 86_400),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
        error: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
      })
      .default('info'),
    // OpenTelemetry's standard variables (tracing/tracing.ts); the OTLP exporter also reads its own
    // OTEL_EXPORTER_OTLP_* (headers, timeout, compression).
    OTEL_SDK_DISABLED: z.enum(['true', 'false'], { error: 'OTEL_SDK_DISABLED must be true or false' }).default('false'),
    OTEL_TRACES_EXPORTER: z.enum(['otlp', 'console', 'none'], { error: 'OTEL_TRACES_EXPORTER must be otlp, console or none' }).optional(),
    OTEL_EXPORTER_OTLP_ENDPOINT: urlWithProtocols('OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']).optional(),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: urlWithProtocols('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:']).optional(),
    OTEL_SERVICE_NAME: z.string().min(1).default('token-issuer'),
    OTEL_TRACES_SAMPLER_ARG: z.coerce
      .number({ error: 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1' })
      .min(0, 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1')
      .max(1, 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1')
      .default(1),
    OTEL_BSP_SCHEDULE_DELAY: wholeNumber('OTEL_BSP_SCHEDULE_DELAY', 5000, 10, 600_000),
  })
  .superRefine((env, ctx) => {
    if (env.REFRESH_TOKEN_MAX_LIFETIME < env.REFRESH_TOKEN_TTL) {
      ctx.addIssue({
        code: 'custom',
        path: ['REFRESH_TOKEN_MAX_LIFETIME'],
        message: 'REFRESH_TOKEN_MAX_LIFETIME must not be shorter than REFRESH_TOKEN_TTL',
      });
    }
    const bootstrap = [env.BOOTSTRAP_ADMIN_USERNAME, env.BOOTSTRAP_ADMIN_EMAIL, env.BOOTSTRAP_ADMIN_PASSWORD];
    if (bootstrap.some(Boolean) && !bootstrap.every(Boolean)) {
      ctx.addIssue({
        code: 'custom',
        path: ['BOOTSTRAP_ADMIN_USERNAME'],
        message: 'BOOTSTRAP_ADMIN_USERNAME, BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD go together: set all three or none',
      });
    }
    if (env.NODE_ENV === 'production') {
      for (const name of ['ISSUER', 'KEY_ENCRYPTION_KEY', 'DATABASE_URL'] as const) {
        if (!env[name]) {
          ctx.addIssue({ code: 'custom', path: [name], message: `${name} is required when NODE_ENV=production` });
        }
      }
      if (env.ISSUER && !env.ISSUER.startsWith('https://')) {
        // RFC 8414 §2: the issuer identifier is a URL that uses the https scheme.
        ctx.addIssue({ code: 'custom', path: ['ISSUER'], message: 'ISSUER must use https when NODE_ENV=production' });
      }
    }
    if (env.REDIS_URL && env.REDIS_SENTINELS) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_SENTINELS'],
        message: 'REDIS_SENTINELS and REDIS_URL exclude each other: set one of them',
      });
    }
    if (env.REDIS_CLUSTER_NODES && (env.REDIS_URL || env.REDIS_SENTINELS)) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_CLUSTER_NODES'],
        message: 'REDIS_CLUSTER_NODES excludes REDIS_URL and REDIS_SENTINELS: set one of them',
      });
    }
    if (env.KEY_ROTATION_INTERVAL && env.KEY_ROTATION_INTERVAL <= env.KEY_ACTIVATION_DELAY) {
      // A key must have begun signing before the next one is made.
      ctx.addIssue({
        code: 'custom',
        path: ['KEY_ROTATION_INTERVAL'],
        message: 'KEY_ROTATION_INTERVAL must be longer than KEY_ACTIVATION_DELAY',
      });
    }
    if (env.DATABASE_URL && !env.KEY_ENCRYPTION_KEY) {
      // Instances sharing a database must share the key that encrypts the signing keys in it.
      ctx.addIssue({
        code: 'custom',
        path: ['KEY_ENCRYPTION_KEY'],
        message: 'KEY_ENCRYPTION_KEY is required when DATABASE_URL is set (only the embedded mode generates one)',
      });
    }
  });

/** Traces are exported when an exporter is named or an OTLP endpoint is given, unless the SDK is disabled. */
function tracingSettingsOf(env: z.infer<typeof environmentSchema>): TracingSettings | undefined {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const exporter =
    env.OTEL_TRACES_EXPORTER ?? (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? 'otlp' : undefined);
  if (!exporter) return undefined;
  return Object.freeze({
    exporter,
    serviceName: env.OTEL_SERVICE_NAME,
    sampleRatio: env.OTEL_TRACES_SAMPLER_ARG,
    exportDelayMs: env.OTEL_BSP_SCHEDULE_DELAY,
  });
}

export type RedisTarget =
  { url: string } | { sentinels: { host: string; port: number }[]; name: string } | { clusterNodes: { host: string; port: number }[] };

const hostPorts = (list: string) =>
  list.split(',').map((pair) => {
    const [host, port] = pair.split(':');
    return { host: host!, port: Number(port) };
  });

/** Every environment variable the service reads: deployment files and docs are checked against it. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(environmentSchema.shape);

/** Each variable's default as the schema applies it (undefined: unset, or derived from others). */
export const configDefaults = (): Readonly<Record<string, unknown>> => environmentSchema.parse({});

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The environment as the service uses it: named, typed and frozen. `Config` is this transform's
 * output type, so the shape is written once.
 */
const configSchema = environmentSchema.transform((env) =>
  Object.freeze({
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    metricsPort: env.METRICS_PORT,
    issuer: env.ISSUER ?? `http://localhost:${env.PORT}`,
    databaseUrl: env.DATABASE_URL,
    dataDir: env.DATA_DIR,
    /** One Redis node by URL, a primary found through Sentinels, or a Redis Cluster; undefined without Redis. */
    redis: (env.REDIS_URL
      ? { url: env.REDIS_URL }
      : env.REDIS_SENTINELS
        ? { sentinels: hostPorts(env.REDIS_SENTINELS), name: env.REDIS_SENTINEL_NAME }
        : env.REDIS_CLUSTER_NODES
          ? { clusterNodes: hostPorts(env.REDIS_CLUSTER_NODES) }
          : undefined) as RedisTarget | undefined,
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    keyEncryptionKey: env.KEY_ENCRYPTION_KEY ? Buffer.from(env.KEY_ENCRYPTION_KEY, 'base64') : undefined,
    signingKeySize: env.SIGNING_KEY_SIZE,
    signingAlgorithm: env.SIGNING_ALGORITHM,
    /** 0: no scheduled rotation. */
    keyRotationIntervalSeconds: env.KEY_ROTATION_INTERVAL ?? (env.DATABASE_URL ? 30 * 86_400 : 0),
    keysRefreshIntervalSeconds: env.KEYS_REFRESH_INTERVAL,
    keyActivationDelaySeconds: env.KEY_ACTIVATION_DELAY,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL,
    refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL,
    refreshTokenMaxLifetimeSeconds: env.REFRESH_TOKEN_MAX_LIFETIME,
    refreshReuseGraceSeconds: env.REFRESH_REUSE_GRACE_SECONDS,
    clientSecretOverlapSeconds: env.CLIENT_SECRET_OVERLAP_SECONDS,
    clientJwksCooldownSeconds: env.CLIENT_JWKS_COOLDOWN_SECONDS,
    /** Loopback hosts (`host` or `host:port`) fetched in production too (outbound/outbound-policy.ts). */
    keyUrlLoopbackHosts: Object.freeze(env.KEY_URL_LOOPBACK_HOSTS ? env.KEY_URL_LOOPBACK_HOSTS.split(',') : []),
    requestDeadlineSeconds: env.REQUEST_DEADLINE_SECONDS,
    passwords: Object.freeze({
      argon2: Object.freeze({
        memoryKib: env.ARGON2_MEMORY_KIB,
        timeCost: env.ARGON2_TIME_COST,
        parallelism: env.ARGON2_PARALLELISM,
      }),
      hashConcurrency: env.PASSWORD_HASH_CONCURRENCY,
      minLength: env.PASSWORD_MIN_LENGTH,
      maxLength: env.PASSWORD_MAX_LENGTH,
    }),
    loginThrottle: Object.freeze({
      maxFailuresPerAccount: env.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerIp: env.LOGIN_MAX_FAILURES_PER_IP,
      windowSeconds: env.LOGIN_FAILURE_WINDOW_SECONDS,
    }),
    /** Browser origins allowed to call the API (CORS); none by default. */
    corsOrigins: Object.freeze(env.CORS_ORIGINS ? env.CORS_ORIGINS.split(',').map((origin) => origin.trim()) : []),
    /** Which proxies may name the client in X-Forwarded-For (see trusted-proxies.ts). */
    trustProxy: parseTrustedProxies(env.TRUST_PROXY)!,
    // Self-service signup is on in the embedded mode and off on a shared database unless asked for.
    signupEnabled: (env.SIGNUP_ENABLED ?? (env.DATABASE_URL ? 'false' : 'true')) === 'true',
    /** Every sign-in needs a second factor; a user without one adds an authenticator app at sign-in. */
    mfaRequired: env.MFA_REQUIRED === 'true',
    /** Requests per minute per client IP. */
    rateLimits: Object.freeze({
      signup: env.SIGNUP_RATE_LIMIT_PER_IP,
      passwordForgot: env.PASSWORD_FORGOT_RATE_LIMIT_PER_IP,
      introspection: env.INTROSPECTION_RATE_LIMIT_PER_IP,
      /** Sign-ins begun (a pending request stored, the login or consent page shown). */
      pendingAuthorizations: env.AUTHORIZE_RATE_LIMIT_PER_IP,
      /** Refused client authentications. */
      clientAuthFailures: env.CLIENT_AUTH_MAX_FAILURES_PER_IP,
      /** Refused API keys at token exchange. */
      apiKeyFailures: env.API_KEY_MAX_FAILURES_PER_IP,
    }),
    /** Token exchange (RFC 8693): how many actors a delegation chain may name. */
    tokenExchange: Object.freeze({ maxChain: env.TOKEN_EXCHANGE_MAX_CHAIN }),
    apiKeys: Object.freeze({ maxLifetimeSeconds: env.API_KEY_MAX_LIFETIME }),
    /** Revocation-feed streams one instance serves at once. */
    revocationFeedMaxConnections: env.REVOCATION_FEED_MAX_CONNECTIONS,
    mail: Object.freeze({ smtpUrl: env.SMTP_URL, from: env.MAIL_FROM }),
    passwordReset: Object.freeze({
      // The issuer's own reset page (http/browser/account-page-routes.ts) unless an app has its own.
      url: env.PASSWORD_RESET_URL ?? `${env.ISSUER ?? `http://localhost:${env.PORT}`}/account/reset`,
      ownPage: env.PASSWORD_RESET_URL === undefined,
      ttlSeconds: env.PASSWORD_RESET_TTL_SECONDS,
    }),
    bootstrapAdmin:
      env.BOOTSTRAP_ADMIN_USERNAME && env.BOOTSTRAP_ADMIN_EMAIL && env.BOOTSTRAP_ADMIN_PASSWORD
        ? Object.freeze({
            username: env.BOOTSTRAP_ADMIN_USERNAME,
            email: env.BOOTSTRAP_ADMIN_EMAIL,
            password: env.BOOTSTRAP_ADMIN_PASSWORD,
          })
        : undefined,
    /** Seconds each kind of row is kept once it serves no token (retention/prune.ts), and how often pruning runs. */
    retention: Object.freeze({
      spentRefreshTokens: env.RETENTION_SPENT_REFRESH_TOKENS_SECONDS,
      endedSessions: env.RETENTION_ENDED_SESSIONS_SECONDS,
      auditEvents: env.RETENTION_AUDIT_EVENTS_SECONDS,
      intervalSeconds: env.PRUNE_INTERVAL_SECONDS,
    }),
    shutdownDelaySeconds: env.SHUTDOWN_DELAY_SECONDS,
    pages: Object.freeze({ displayName: env.ISSUER_DISPLAY_NAME, accentColor: env.ACCENT_COLOR.toLowerCase() }),
    browserSessions: Object.freeze({ idleSeconds: env.BROWSER_SESSION_IDLE_SECONDS, maxSeconds: env.BROWSER_SESSION_MAX_SECONDS }),
    logLevel: env.LOG_LEVEL,
    tracing: tracingSettingsOf(env),
  }),
);

export type Config = z.output<typeof configSchema>;

/** Parses the environment. Values are never echoed in errors: some of them are secrets. */
export function loadConfig(environment: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const result = configSchema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map(describeIssue));
  }
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const name = issue.path.join('.');
  if (issue.code === 'invalid_value' && name === 'NODE_ENV') {
    return 'NODE_ENV must be one of development, production, test';
  }
  return issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`;
}
