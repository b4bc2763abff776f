// API keys: long-lived credentials of a user or a machine client, exchanged at /token for
// short-lived access tokens (grants/api-key-exchange.ts). Created here by the account API, the
// admin API and the CLI alike; each key is shown once and stored only as its SHA-256.
import { createHash, randomBytes } from 'node:crypto';
import { encodeApiKey, isWellFormedApiKey } from '@token-issuer/verifier';
import { z } from 'zod';
import { recordAuditEvent, type AuditActor } from '../audit/audit-log.js';
import type { Client } from '../clients/client-registry.js';
import { isScopeToken } from '../clients/scope.js';
import type { ApiKeyRow, UserRow } from '../db/schema.js';
import { describeIssues, invalidRequest, notFound } from '../errors.js';
import { cutoffAt } from '../revocation/cutoffs.js';
import { revokeSessions, type RevocationDependencies } from '../revocation/ending-sessions.js';
import { scopesAllowedForRoles } from '../users/roles.js';
import {
  findApiKey,
  findApiKeyByHash,
  insertApiKey,
  listApiKeyRows,
  markApiKeyRevoked,
  registeredAudiences,
  registeredScopes,
} from './api-key-store.js';

export interface ApiKeyPolicy {
  /** API_KEY_MAX_LIFETIME: no key lives longer. */
  maxLifetimeSeconds: number;
}

/** A key's owner: a user, or a machine client acting for itself. */
export type ApiKeyOwner = { user: Pick<UserRow, 'id' | 'isActive' | 'roles'> } | { client: Client };

/** Without an expiry asked for, a key lives 90 days, or less when the maximum is shorter. */
const DEFAULT_LIFETIME_SECONDS = 90 * 86_400;

export const newApiKeySchema = z
  .object({
    name: z.string().trim().min(1, 'a name is required').max(100, 'a name is at most 100 characters'),
    scopes: z.array(z.string().refine(isScopeToken, 'a scope must be printable ASCII without spaces, " or \\')).max(50),
    audiences: z.array(z.string().min(1).max(2000)).min(1, 'at least one audience is required').max(20),
    expiresInSeconds: z.number().int().min(60, 'a key lives at least a minute').optional(),
  })
  .strict();

export type NewApiKey = z.input<typeof newApiKeySchema>;

/** The key's SHA-256, as stored and looked up. */
export const apiKeyHash = (key: string) => createHash('sha256').update(key).digest('base64url');

/** What the owner may put into a key now: a user what some client may hold and their roles allow; a client its own. */
async function ownerAllows(deps: RevocationDependencies, owner: ApiKeyOwner): Promise<{ scopes: string[]; audiences: string[] }> {
  if ('client' in owner) return { scopes: owner.client.scopes, audiences: owner.client.audiences };
  const [scopes, audiences] = await Promise.all([registeredScopes(deps.db), registeredAudiences(deps.db)]);
  return { scopes: scopesAllowedForRoles(scopes, owner.user.roles), audiences };
}

/**
 * A new key for a user or a machine client: never more than the owner may hold, never longer than
 * API_KEY_MAX_LIFETIME. Returns the key (shown this once) and its record.
 */
export async function createApiKey(
  deps: RevocationDependencies,
  policy: ApiKeyPolicy,
  owner: ApiKeyOwner,
  input: NewApiKey,
  by: AuditActor,
): Promise<{ key: string; apiKey: ApiKeyRow }> {
  const parsed = newApiKeySchema.safeParse(input);
  if (!parsed.success) throw invalidRequest(describeIssues(parsed.error.issues));
  const { name, scopes, audiences, expiresInSeconds } = parsed.data;
  if ('user' in owner && !owner.user.isActive) throw invalidRequest('a disabled user cannot be given an API key');
  if ('client' in owner && !owner.client.grantTypes.includes('client_credentials')) {
    throw invalidRequest('only a machine client (registered for client_credentials) acts for itself with an API key');
  }
  const allowed = await ownerAllows(deps, owner);
  const refusedScopes = scopes.filter((scope) => !allowed.scopes.includes(scope));
  if (refusedScopes.length > 0) throw invalidRequest(`scopes the owner may not hold: ${refusedScopes.join(' ')}`);
  const refusedAudiences = audiences.filter((audience) => !allowed.audiences.includes(audience));
  if (refusedAudiences.length > 0) throw invalidRequest(`audiences no client is registered for: ${refusedAudiences.join(' ')}`);
  const lifetime = expiresInSeconds ?? Math.min(DEFAULT_LIFETIME_SECONDS, policy.maxLifetimeSeconds);
  if (lifetime > policy.maxLifetimeSeconds) {
    throw invalidRequest(`an API key lives at most ${policy.maxLifetimeSeconds} seconds (API_KEY_MAX_LIFETIME)`);
  }

  const key = encodeApiKey(randomBytes(32));
  const now = new Date();
  const apiKey = await deps.db.transaction(async (tx) => {
    const row = await insertApiKey(tx, {
      keyHash: apiKeyHash(key),
      name,
      ...ownerColumns(owner),
      scopes: [...new Set(scopes)],
      audiences: [...new Set(audiences)],
      createdBy: by.actor ?? null,
      expiresAt: new Date(now.getTime() + lifetime * 1000),
    });
    await recordAuditEvent(tx, deps, {
      ...by,
      type: 'api_key_created',
      ...auditOwner(row),
      details: { key_id: row.id, name, scopes: row.scopes, audiences: row.audiences, expires_at: row.expiresAt.toISOString() },
    });
    return row;
  });
  return { key, apiKey };
}

const ownerColumns = (owner: ApiKeyOwner) =>
  'user' in owner ? { userId: owner.user.id, clientId: null } : { userId: null, clientId: owner.client.id };

export const auditOwner = (row: ApiKeyRow) => ({
  ...(row.userId ? { userId: row.userId } : {}),
  ...(row.clientId ? { clientId: row.clientId } : {}),
});

export function listApiKeys(deps: Pick<RevocationDependencies, 'db'>, owner: { userId?: string; clientId?: string } = {}) {
  return listApiKeyRows(deps.db, owner);
}

/** A key by id, only when `owner` (a user's id, for /me) owns it. */
export async function findOwnApiKey(deps: Pick<RevocationDependencies, 'db'>, id: string, owner?: { userId: string }): Promise<ApiKeyRow> {
  const row = await findApiKey(deps.db, id);
  if (!row || (owner && row.userId !== owner.userId)) throw notFound('API key');
  return row;
}

/**
 * Revokes a key, and every token made from it, at once: tokens from a key carry its id as their
 * `sid`, so one cut-off of that `sid` reaches every verifier (and every token exchanged from them).
 * Revoking a revoked key changes nothing.
 */
export async function revokeApiKey(deps: RevocationDependencies, row: ApiKeyRow, by: AuditActor): Promise<void> {
  if (row.revokedAt) return;
  const now = new Date();
  await revokeSessions(
    deps,
    undefined,
    { ...by, type: 'api_key_revoked', ...auditOwner(row), details: { key_id: row.id, name: row.name }, reason: 'api_key_revoked' },
    {
      alsoRevoke: [cutoffAt({ kind: 'sid', value: row.id }, now, deps.accessTokenTtlSeconds)],
      alongside: async (tx) => {
        await markApiKeyRevoked(tx, row.id, now);
      },
      alwaysAudit: true,
      now,
    },
  );
}

/** The live key a presented string is, or undefined: checksum first, so a made-up string costs no lookup. */
export async function findLiveApiKey(deps: Pick<RevocationDependencies, 'db'>, key: string, now: Date): Promise<ApiKeyRow | undefined> {
  if (!isWellFormedApiKey(key)) return undefined;
  const row = await findApiKeyByHash(deps.db, apiKeyHash(key));
  if (!row || row.revokedAt || row.expiresAt <= now) return undefined;
  return row;
}

/** `90d`, `12h`, `30m`, `3600s` or `3600` (seconds), as the CLI takes an expiry. */
export function parseLifetime(text: string): number | undefined {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text);
  if (!match) return undefined;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
