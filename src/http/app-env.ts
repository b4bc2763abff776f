import type { Logger } from 'pino';

/** Values middleware puts on the Hono context for the handlers after it. */
export type AppEnv = {
  Variables: {
    requestId: string;
    logger: Logger;
  };
};
