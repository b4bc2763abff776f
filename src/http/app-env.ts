import type { JWTPayload } from 'jose';
import type { Logger } from 'pino';
import type { UserRow } from '../db/schema.js';
import type { Principal } from '../verifier/verifier.js';
import type { Caller } from './account-auth.js';

/** Values middleware puts on the Hono context for the handlers after it. */
export type AppEnv = {
  Variables: {
    requestId: string;
    logger: Logger;
    /** The client's address (see http/request-context.ts). */
    clientIp: string | undefined;
    /** Set by the bearer middleware: the verified, unrevoked access token's claims and its user. */
    accessToken: JWTPayload;
    user: UserRow;
    /** Set by the account guards (http/account-auth.ts): the verified token and who it speaks for. */
    principal: Principal;
    caller: Caller;
  };
};
