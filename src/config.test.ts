import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      issuer: 'http://localhost:3000',
      databaseUrl: undefined,
      dataDir: './.data',
      redis: undefined,
      keyEncryptionKey: undefined,
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 7 * 86_400,
      refreshTokenMaxLifetimeSeconds: 30 * 86_400,
      logLevel: 'info',
      signingKeySize: 2048,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('derives the default issuer from PORT and treats empty values as unset', () => {
    expect(loadConfig({ PORT: '8080', ISSUER: '' }).issuer).toBe('http://localhost:8080');
  });

  it('defaults to OWASP argon2id parameters, a 15-character minimum, a 10 s reuse grace and a 5 s deadline', () => {
    const config = loadConfig({});
    expect(config.passwords).toEqual({
      argon2: { memoryKib: 19_456, timeCost: 2, parallelism: 1 },
      hashConcurrency: 2,
      minLength: 15,
      maxLength: 128,
    });
    expect(config.refreshReuseGraceSeconds).toBe(10);
    expect(config.requestDeadlineSeconds).toBe(5);
    expect(config.bootstrapAdmin).toBeUndefined();
  });

  it('reads Redis as one URL, as sentinels with a primary name, or as cluster nodes', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'r1:7000,r2:7001' }).redis).toEqual({
      clusterNodes: [
        { host: 'r1', port: 7000 },
        { host: 'r2', port: 7001 },
      ],
    });
    expect(loadConfig({ REDIS_URL: 'redis://r:6379' }).redis).toEqual({ url: 'redis://r:6379' });
    expect(loadConfig({ REDIS_SENTINELS: 's1:26379,s2:26380', REDIS_SENTINEL_NAME: 'main' }).redis).toEqual({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'main',
    });
  });

  it('reads CORS origins as a list, none by default', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).corsOrigins).toEqual([
      'https://a.example',
      'http://localhost:5173',
    ]);
  });

  it('turns signup on in the embedded mode and off on a shared database unless set', () => {
    expect(loadConfig({}).signupEnabled).toBe(true);
    expect(loadConfig({ DATABASE_URL: 'postgres://db/app', KEY_ENCRYPTION_KEY: KEY }).signupEnabled).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://db/app', KEY_ENCRYPTION_KEY: KEY, SIGNUP_ENABLED: 'true' }).signupEnabled).toBe(true);
    expect(loadConfig({ SIGNUP_ENABLED: 'false' }).signupEnabled).toBe(false);
  });

  it('links reset emails to the issuer’s own reset page, or to PASSWORD_RESET_URL without a fragment', () => {
    expect(loadConfig({ ISSUER: 'https://auth.example.com' }).passwordReset).toEqual({
      url: 'https://auth.example.com/account/reset',
      ownPage: true,
      ttlSeconds: 3600,
    });
    expect(loadConfig({ PASSWORD_RESET_URL: 'https://app.example.com/reset' }).passwordReset.ownPage).toBe(false);
    expect(loadConfig({ SMTP_URL: 'smtp://mail.internal:587', ISSUER: 'https://auth.example.com' }).passwordReset.url).toBe(
      'https://auth.example.com/account/reset',
    );
    expect(problemsOf({ PASSWORD_RESET_URL: 'https://app.example.com/reset#x' })).toEqual([
      'PASSWORD_RESET_URL must not contain a fragment: the token goes there',
    ]);
    expect(problemsOf({ SMTP_URL: 'http://mail.internal' })[0]).toBe('SMTP_URL must be a URL starting with smtp:// or smtps://');
  });

  it('rotates keys every 30 days on a shared database and not in the embedded mode, unless set', () => {
    const shared = { DATABASE_URL: 'postgres://db/x', KEY_ENCRYPTION_KEY: KEY };
    expect(loadConfig({}).keyRotationIntervalSeconds).toBe(0);
    expect(loadConfig(shared).keyRotationIntervalSeconds).toBe(30 * 86_400);
    expect(loadConfig({ ...shared, KEY_ROTATION_INTERVAL: 'off' }).keyRotationIntervalSeconds).toBe(0);
    expect(loadConfig({ ...shared, KEY_ROTATION_INTERVAL: '0' }).keyRotationIntervalSeconds).toBe(0);
    expect(loadConfig({ KEY_ROTATION_INTERVAL: '12h' }).keyRotationIntervalSeconds).toBe(43_200);
    expect(loadConfig({ KEY_ROTATION_INTERVAL: '90m' }).keyRotationIntervalSeconds).toBe(5_400);
    expect(loadConfig({ KEY_ROTATION_INTERVAL: '3600' }).keyRotationIntervalSeconds).toBe(3_600);
    expect(problemsOf({ KEY_ROTATION_INTERVAL: '30 days' })).toEqual([
      'KEY_ROTATION_INTERVAL must be off, or a duration such as 3600, 90m, 12h or 30d (at most 365 days)',
    ]);
    expect(problemsOf({ KEY_ROTATION_INTERVAL: '400d' })).toHaveLength(1);
    expect(problemsOf({ KEY_ROTATION_INTERVAL: '60' })).toEqual(['KEY_ROTATION_INTERVAL must be longer than KEY_ACTIVATION_DELAY']);
  });

  it('signs with RS256 unless SIGNING_ALGORITHM names another asymmetric algorithm', () => {
    expect(loadConfig({}).signingAlgorithm).toBe('RS256');
    expect(loadConfig({ SIGNING_ALGORITHM: 'EdDSA' }).signingAlgorithm).toBe('EdDSA');
    for (const refused of ['HS256', 'none', 'es256'])
      expect(problemsOf({ SIGNING_ALGORITHM: refused })).toEqual(['SIGNING_ALGORITHM must be one of RS256, PS256, ES256, EdDSA']);
  });

  it('decodes KEY_ENCRYPTION_KEY into 32 bytes', () => {
    expect(loadConfig({ KEY_ENCRYPTION_KEY: KEY }).keyEncryptionKey).toEqual(Buffer.alloc(32, 7));
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be a port number'],
    [{ PORT: '70000' }, 'PORT must be between 0 and 65535'],
    [{ ISSUER: 'ftp://issuer' }, 'ISSUER must be a URL starting with http:// or https://'],
    [{ ISSUER: 'https://issuer.example/?x=1' }, 'ISSUER must not contain a query or fragment (RFC 8414 §2)'],
    [{ DATABASE_URL: 'mysql://db/x', KEY_ENCRYPTION_KEY: KEY }, 'DATABASE_URL must be a URL starting with postgres:// or postgresql://'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL must be a URL starting with redis:// or rediss://'],
    [
      { KEY_ENCRYPTION_KEY: 'c2hvcnQ=' },
      'KEY_ENCRYPTION_KEY must be 32 bytes encoded as base64 (generate one with: openssl rand -base64 32)',
    ],
    [{ ACCESS_TOKEN_TTL: '0' }, 'ACCESS_TOKEN_TTL must be at least 1 second'],
    [{ ACCESS_TOKEN_TTL: '1.5' }, 'ACCESS_TOKEN_TTL must be a whole number of seconds'],
    [{ REFRESH_TOKEN_TTL: 'week' }, 'REFRESH_TOKEN_TTL must be a whole number of seconds'],
    [{ REFRESH_TOKEN_MAX_LIFETIME: '60' }, 'REFRESH_TOKEN_MAX_LIFETIME must not be shorter than REFRESH_TOKEN_TTL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent'],
    [{ SIGNING_KEY_SIZE: '1024' }, 'SIGNING_KEY_SIZE must be 2048, 3072 or 4096'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV must be one of development, production, test'],
    [{ ARGON2_MEMORY_KIB: '4096' }, 'ARGON2_MEMORY_KIB must be between 19456 and 4194304'],
    [{ ARGON2_TIME_COST: '1' }, 'ARGON2_TIME_COST must be between 2 and 20'],
    [{ PASSWORD_MIN_LENGTH: '6' }, 'PASSWORD_MIN_LENGTH must be between 8 and 64'],
    [{ PASSWORD_MAX_LENGTH: '32' }, 'PASSWORD_MAX_LENGTH must be between 64 and 1024'],
    [{ REDIS_SENTINELS: 'sentinel-1' }, 'REDIS_SENTINELS must be host:port pairs separated by commas'],
    [{ REDIS_SENTINELS: 's:26379', REDIS_URL: 'redis://r:6379' }, 'REDIS_SENTINELS and REDIS_URL exclude each other: set one of them'],
    [
      { REDIS_CLUSTER_NODES: 'r1:6379', REDIS_URL: 'redis://r:6379' },
      'REDIS_CLUSTER_NODES excludes REDIS_URL and REDIS_SENTINELS: set one of them',
    ],
    [{ REDIS_CLUSTER_NODES: 'r1' }, 'REDIS_CLUSTER_NODES must be host:port pairs separated by commas'],
    [{ CORS_ORIGINS: '*' }, 'CORS_ORIGINS must be exact origins such as https://app.example.com, separated by commas (no *, no path)'],
    [
      { CORS_ORIGINS: 'https://app.example.com/path' },
      'CORS_ORIGINS must be exact origins such as https://app.example.com, separated by commas (no *, no path)',
    ],
    [
      { TRUST_PROXY: 'yes' },
      'TRUST_PROXY must be false, a number of trusted proxy hops (1 to 99), or proxy addresses and CIDR ranges separated by commas',
    ],
    [
      { TRUST_PROXY: '10.0.0.0/33' },
      'TRUST_PROXY must be false, a number of trusted proxy hops (1 to 99), or proxy addresses and CIDR ranges separated by commas',
    ],
    [
      { TRUST_PROXY: 'true' },
      'TRUST_PROXY=true would trust whatever address a client writes into X-Forwarded-For; set the number of proxies in front of the issuer (e.g. 1) or their addresses',
    ],
    [{ LOGIN_MAX_FAILURES_PER_ACCOUNT: '0' }, 'LOGIN_MAX_FAILURES_PER_ACCOUNT must be between 1 and 1000000'],
    [{ KEY_ACTIVATION_DELAY: '-5' }, 'KEY_ACTIVATION_DELAY must be between 0 and 86400'],
    [{ REFRESH_REUSE_GRACE_SECONDS: '-1' }, 'REFRESH_REUSE_GRACE_SECONDS must be between 0 and 300'],
    [
      { BOOTSTRAP_ADMIN_USERNAME: 'root' },
      'BOOTSTRAP_ADMIN_USERNAME, BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD go together: set all three or none',
    ],
    [{ DATABASE_URL: 'postgres://db/x' }, 'KEY_ENCRYPTION_KEY is required when DATABASE_URL is set (only the embedded mode generates one)'],
  ])('rejects %o with its own message', (env, message) => {
    expect(problemsOf(env)).toEqual([message]);
  });

  it('reports every problem at once, one line each', () => {
    expect(problemsOf({ PORT: 'x', LOG_LEVEL: 'y', ACCESS_TOKEN_TTL: 'z' })).toHaveLength(3);
  });

  it('never echoes a value, since some are secrets', () => {
    const secretish = 'postgres-password-hunter2';
    const problems = problemsOf({ DATABASE_URL: `mysql://u:${secretish}@db/x`, KEY_ENCRYPTION_KEY: secretish });
    expect(problems.join('\n')).not.toContain(secretish);
  });

  it('refuses to start in production without ISSUER, KEY_ENCRYPTION_KEY and DATABASE_URL', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'ISSUER is required when NODE_ENV=production',
      'KEY_ENCRYPTION_KEY is required when NODE_ENV=production',
      'DATABASE_URL is required when NODE_ENV=production',
    ]);
  });

  it('refuses a plain-http issuer in production (RFC 8414 §2)', () => {
    const env = { NODE_ENV: 'production', ISSUER: 'http://issuer.example', DATABASE_URL: 'postgres://db/x', KEY_ENCRYPTION_KEY: KEY };
    expect(problemsOf(env)).toEqual(['ISSUER must use https when NODE_ENV=production']);
    expect(loadConfig({ ...env, ISSUER: 'https://issuer.example' }).issuer).toBe('https://issuer.example');
  });
});
