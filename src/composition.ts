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
}): AdminContext {
  return {
    ...parts,
    accessTokenTtlSeconds: parts.config.accessTokenTtlSeconds,
    outbound: createOutbound(outboundPolicyFrom(parts.config)),
  };
}
