// What every admin action needs (the domain functions the CLI and the admin API share), built one
// way: by the server for its admin API and for CLI commands it carries out (runtime.ts, app.ts), and
// by the `token-issuer` process for the commands it runs itself (cli/cli-context.ts).
import type { Logger } from 'pino';
import type { AuditEventType } from './audit/audit-log.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { Denylist } from './denylist/denylist.js';
import type { KeyRing } from './keys/key-ring.js';
import { createOutbound, type Outbound } from './outbound/outbound-fetch.js';
import { outboundPolicyFrom } from './outbound/outbound-policy.js';
import type { RevocationDependencies } from './revocation/ending-sessions.js';

export interface AdminContext extends RevocationDependencies {
  config: Config;
  /** Where the data is, for a person: the CLI says it on every command (never a password). */
  store: string;
  /** Which key URLs this deployment fetches, and how (outbound/). */
  outbound: Outbound;
  /** A running server's key ring: key changes made through it take effect in it at once. */
  keyRing?: KeyRing;
}

export function adminContextOf(parts: {
  config: Config;
  db: Database;
  logger: Logger;
  denylist: Denylist;
  keyRing?: KeyRing;
  onAuditEvent?: (type: AuditEventType) => void;
  /** How this process reaches the embedded database, for `store`. */
  via?: 'the running server' | 'no server running';
}): AdminContext {
  const { via, ...rest } = parts;
  return {
    ...rest,
    store: describeStore(parts.config, via),
    accessTokenTtlSeconds: parts.config.accessTokenTtlSeconds,
    outbound: createOutbound(outboundPolicyFrom(parts.config)),
  };
}

/** "PostgreSQL at db:5432, database tokens", or "the embedded database in ./.data (…)". */
export function describeStore(config: Pick<Config, 'databaseUrl' | 'dataDir'>, via?: string): string {
  if (config.databaseUrl) {
    const url = new URL(config.databaseUrl);
    const database = decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username) || 'postgres';
    return `PostgreSQL at ${url.hostname}:${url.port || '5432'}, database ${database}`;
  }
  return `the embedded database in ${config.dataDir}${via ? ` (${via})` : ''}`;
}
