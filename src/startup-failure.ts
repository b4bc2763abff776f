// Why the server could not start, in plain lines an operator can act on, like the settings errors:
// the database or Redis it cannot reach or use, a port in use, a data directory held by another
// process. Only what nobody foresaw is logged with its stack.
import { ConfigError } from './config.js';
import { ApiError } from './errors.js';

/** Redis did not answer while the server started (runtime.ts): most often a wrong REDIS_URL. */
export class RedisUnavailableAtStart extends Error {
  constructor(
    readonly target: string,
    readonly reason: string,
  ) {
    super(`cannot reach Redis at ${target} (${reason})`);
    this.name = 'RedisUnavailableAtStart';
  }
}

/** The address of the PostgreSQL server and database a URL names, without its password. */
function postgresTarget(databaseUrl: string | undefined) {
  if (!databaseUrl || !URL.canParse(databaseUrl)) return undefined;
  const url = new URL(databaseUrl);
  return {
    address: `${url.hostname}:${url.port || '5432'}`,
    database: decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username) || 'postgres',
    user: decodeURIComponent(url.username) || 'the current user',
  };
}

/** The first error of the cause chain that carries a code (a system call's, or PostgreSQL's). */
function codeOf(error: unknown): { code: string; message: string } | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 8; depth += 1) {
    const { code } = current as { code?: unknown };
    if (typeof code === 'string') return { code, message: current.message };
    current = current.cause;
  }
  return undefined;
}

/** The lines to print for an error that stopped the start, or undefined when it is unforeseen. */
export function describeStartupFailure(
  error: unknown,
  settings: { databaseUrl?: string; port?: number; host?: string } = {},
): string[] | undefined {
  if (error instanceof ConfigError) return ['invalid configuration', ...error.problems.map((problem) => `  ${problem}`)];
  if (error instanceof RedisUnavailableAtStart)
    return [`${error.message}; check REDIS_URL (or REDIS_SENTINELS, REDIS_CLUSTER_NODES) and that Redis runs`];
  // e.g. a BOOTSTRAP_ADMIN_PASSWORD that breaks the password policy
  if (error instanceof ApiError) return [error.description];
  if (error instanceof Error && error.name === 'DataDirInUseError') return [error.message];
  const coded = codeOf(error);
  if (!coded) return undefined;
  if (coded.code === 'EADDRINUSE') {
    return [
      `port ${settings.port ?? '?'} on ${settings.host ?? 'this host'} is in use by another process; stop it, or set PORT (or METRICS_PORT)`,
    ];
  }
  const postgres = postgresTarget(settings.databaseUrl);
  if (!postgres) return undefined;
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'CONNECT_TIMEOUT'].includes(coded.code)) {
    return [`cannot reach PostgreSQL at ${postgres.address} (${coded.message}); check DATABASE_URL and that PostgreSQL runs`];
  }
  // PostgreSQL's own refusals (SQLSTATE, https://www.postgresql.org/docs/current/errcodes-appendix.html).
  if (coded.code === '3D000')
    return [`PostgreSQL at ${postgres.address} has no database "${postgres.database}"; create it, or fix DATABASE_URL`];
  if (coded.code === '28P01') return [`PostgreSQL at ${postgres.address} refused the password of ${postgres.user}; fix DATABASE_URL`];
  if (coded.code === '28000')
    return [`PostgreSQL at ${postgres.address} refused ${postgres.user} (${coded.message}); fix DATABASE_URL or the role`];
  return undefined;
}
