import type { OutageLog } from '../outage-log.js';
import type { JWTPayload } from 'jose';
import type { Logger } from 'pino';
import type { Client } from '../clients/client-registry.js';
import type { UserRow } from '../db/schema.js';
import type { Principal } from '@token-issuer/verifier';

/** Who a verified bearer token speaks for (http/bearer-auth.ts). */
export type Caller = { kind: 'user'; id: string; principal: Principal } | { kind: 'client'; id: string; principal: Principal };

/** An error code and description as the client received them: no secret or token is ever in one. */
export interface Refusal {
  error: string;
  description: string;
}

/** Values middleware puts on the Hono context for the handlers after it. */
export type AppEnv = {
  Variables: {
    requestId: string;
    logger: Logger;
    /** Where a 503 for an outage is told (outage-log.ts): one warn per outage, not one per request. */
    outages?: OutageLog;
    /** The client's address (see http/request-context.ts). */
    clientIp: string | undefined;
    /** Set by the bearer guards (http/bearer-auth.ts): the verified token's claims, its user (for a
     * user's token), the principal, and who it speaks for. */
    accessToken: JWTPayload;
    user: UserRow;
    principal: Principal;
    caller: Caller;
    /** The client the request is from: authenticated at /token and /revoke, the token's at bearer endpoints (for CORS, http/cors.ts). */
    client: Pick<Client, 'id' | 'redirectUris'>;
    /** Why the request was refused, for its log line (http/middleware/request-logger.ts). */
    refusal: Refusal;
  };
};
