import type { Context, Hono, MiddlewareHandler } from 'hono';
import { createApiKey, findOwnApiKey, listApiKeys, revokeApiKey, type ApiKeyPolicy } from '../../api-keys/api-keys.js';
import type { UserRow } from '../../db/schema.js';
import { apiKeyCreatedPage } from '../../pages/account-home-page.js';
import type { PageBranding } from '../../pages/layout.js';
import { text } from '../../pages/page-text.js';
import type { RevocationDependencies } from '../../revocation/ending-sessions.js';
import type { AppEnv } from '../app-env.js';
import type { TokenParams } from '../../request-parameters.js';
import { htmlPage } from './page-response.js';

/** What the account page lends its API-key forms (account-home-routes.ts). */
export interface AccountPageParts {
  signedIn: MiddlewareHandler<AppEnv>;
  formOf(c: Context<AppEnv>, action: string): Promise<TokenParams>;
  recentEnough(c: Context<AppEnv>): Promise<Response | undefined>;
  orSay(c: Context<AppEnv>, run: () => Promise<Response>): Promise<Response>;
  home(c: Context<AppEnv>, said?: { notice?: string }): Promise<Response>;
  owner(c: Context<AppEnv>): UserRow;
  ipOf(c: Context<AppEnv>): string | undefined;
}

/** The user's live API keys, as the account page lists them. */
export async function ownApiKeys(deps: Pick<RevocationDependencies, 'db'>, userId: string) {
  return (await listApiKeys(deps, { userId })).filter((key) => key.revokedAt === null);
}

/**
 * The account page's API keys: made with the same rules as POST /me/api-keys (a recent sign-in
 * first; the key shown on a page of its own, once), revoked with its tokens.
 */
export function accountApiKeyForms(
  routes: Hono<AppEnv>,
  page: AccountPageParts,
  deps: { revocation: RevocationDependencies; policy: ApiKeyPolicy; branding: PageBranding },
): void {
  routes.post('/account/api-keys', page.signedIn, async function createKey(c) {
    const form = await page.formOf(c, 'api-keys');
    const again = await page.recentEnough(c);
    if (again) return again;
    return page.orSay(c, async () => {
      const user = page.owner(c);
      const input = {
        name: form.get('name') ?? '',
        scopes: (form.get('scopes') ?? '').split(/\s+/).filter(Boolean),
        audiences: [form.get('audience') ?? ''].filter(Boolean),
        expiresInSeconds: Number(form.get('expires_in') ?? Number.NaN),
      };
      const { key, apiKey } = await createApiKey(deps.revocation, deps.policy, { user }, input, {
        actor: `user:${user.id}`,
        ipAddress: page.ipOf(c),
      });
      return htmlPage(c, apiKeyCreatedPage(deps.branding, { name: apiKey.name, key }));
    });
  });

  routes.post('/account/api-keys/revoke', page.signedIn, async function revokeKey(c) {
    const form = await page.formOf(c, 'api-keys/revoke');
    return page.orSay(c, async () => {
      const user = page.owner(c);
      const row = await findOwnApiKey(deps.revocation, form.get('key') ?? '', { userId: user.id });
      await revokeApiKey(deps.revocation, row, { actor: `user:${user.id}`, ipAddress: page.ipOf(c) });
      return page.home(c, { notice: text.saved });
    });
  });
}
