import type { Context } from 'hono';
import type { ApiKeyPolicy } from '../../api-keys/api-keys.js';
import type { AuditActor, AuditSink } from '../../audit/audit-log.js';
import type { ClientDirectory } from '../../clients/client-directory.js';
import type { KeyRing } from '../../keys/key-ring.js';
import type { Mailer } from '../../mail/mailer.js';
import type { ProviderDependencies } from '../../upstream/providers.js';
import type { Outbound } from '../../outbound/outbound-fetch.js';
import type { KeyPurpose } from '../../keys/key-store.js';
import type { RevocationDependencies } from '../../revocation/ending-sessions.js';
import type { AccountDependencies } from '../../users/accounts.js';
import { actorOf, type BearerGuards } from '../middleware/bearer-auth.js';
import type { AppEnv } from '../app-env.js';
import { requestContextOf } from '../middleware/request-context.js';

export interface AdminRouteOptions {
  accounts: AccountDependencies;
  revocation: RevocationDependencies & AuditSink;
  guards: BearerGuards;
  keyRing: KeyRing;
  /** Told of every client changed here, so that this instance never serves an old copy. */
  clients: ClientDirectory;
  /** How long a retired key still verifies, per purpose (for its status). */
  keyRetentionSeconds: Readonly<Record<KeyPurpose, number>>;
  /** KEY_ROTATION_INTERVAL in seconds; 0 without a schedule. */
  keyRotationIntervalSeconds: number;
  /** KEYS_REFRESH_INTERVAL, which a revoked key's cut-off reaches past (keys/key-revocation.ts). */
  keysRefreshIntervalSeconds: number;
  /** CLIENT_SECRET_OVERLAP_SECONDS: how long a rotated-out client secret keeps working. */
  clientSecretOverlapSeconds: number;
  /** What a registered key URL may be, and how discovery fetches (outbound/). */
  outbound: Outbound;
  /** Tells a user when an operator removed one of their sign-in methods. */
  mailer: Mailer;
  /** Upstream identity providers (upstream/providers.ts). */
  providers: ProviderDependencies;
  /** API_KEY_MAX_LIFETIME (api-keys/). */
  apiKeys: ApiKeyPolicy;
}

/** The who and where of an admin action, for the audit event its domain function records. */
export function adminActor(c: Context<AppEnv>): AuditActor {
  return { actor: actorOf(c.get('caller')), ipAddress: requestContextOf(c).ipAddress };
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
