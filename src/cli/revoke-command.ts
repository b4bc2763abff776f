import { parseArgs } from 'node:util';
import { revokeIssuedBefore, type IncidentScope } from '../revocation/incident-revocation.js';
import { findUserByLogin } from '../users/user-store.js';
import { unknownUser } from '../errors.js';
import { instant } from '../instant.js';
import { findClient } from '../clients/client-registry.js';
import type { CommandEnvironment } from './cli-io.js';
import { cliActor } from './arguments.js';
import { UsageError } from './usage-error.js';

export const revokeUsage = `token-issuer revoke --all | --user USERNAME | --client CLIENT_ID [--before now|ISO-8601]`;

/**
 * Incident response: every access token of everyone, a user or a client issued at or before
 * `--before` (default now) is refused everywhere, and the sessions signed in by then end.
 */
export async function revokeCommand(args: string[], cli: CommandEnvironment): Promise<unknown> {
  const { values } = parseArgs({
    args,
    options: { all: { type: 'boolean' }, user: { type: 'string' }, client: { type: 'string' }, before: { type: 'string' } },
    strict: true,
  });
  if ([values.all, values.user, values.client].filter((given) => given !== undefined).length !== 1) {
    throw new UsageError('revoke takes exactly one of --all, --user USERNAME and --client CLIENT_ID');
  }
  const before = momentOf(values.before);
  const revoked = await cli.open(async (context) => {
    let scope: IncidentScope = { all: true };
    if (values.user !== undefined) {
      const user = await findUserByLogin(context.db, values.user);
      if (!user) throw unknownUser(values.user);
      scope = { userId: user.id };
    } else if (values.client !== undefined) {
      if (!(await findClient(context.db, values.client))) throw new Error(`no client with id ${values.client}`);
      scope = { clientId: values.client };
    }
    // Run in an emergency: Redis being away too does not stop it (the refill carries it later).
    return revokeIssuedBefore(context, scope, { before, audit: { actor: cliActor() }, deferPush: true });
  });
  return { kind: revoked.kind, value: revoked.value, before: revoked.before.toISOString(), sessions_ended: revoked.sessionsEnded };
}

function momentOf(value: string | undefined): Date | undefined {
  if (value === undefined || value === 'now') return undefined;
  const moment = instant.safeParse(value);
  if (!moment.success) throw new UsageError('--before is now or an ISO 8601 date-time such as 2026-01-31T12:00:00Z');
  return moment.data;
}
