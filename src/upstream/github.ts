// GitHub as an upstream provider: OAuth 2.0 without OpenID Connect, so who the user is comes from
// its REST API (GET /user, and GET /user/emails for a verified address). github.com, or a GitHub
// Enterprise Server at its own address (API under /api/v3).
import type { OutboundFetch } from '../outbound/outbound-fetch.js';
import type { UpstreamClaims } from './upstream-accounts.js';

export const GITHUB = 'https://github.com';
export const GITHUB_SCOPES = ['read:user', 'user:email'];

/** The OAuth endpoints and API of a GitHub at `base`. */
export function githubEndpoints(base: string) {
  const api = base === GITHUB ? 'https://api.github.com' : `${base}/api/v3`;
  return {
    authorization: `${base}/login/oauth/authorize`,
    token: `${base}/login/oauth/access_token`,
    user: `${api}/user`,
    emails: `${api}/user/emails`,
  };
}

interface GithubUser {
  id: number;
  login: string;
  name: string | null;
}

interface GithubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

/**
 * The user behind a GitHub access token, as the claims an id token would carry: `sub` is GitHub's
 * numeric user id (a login can be renamed and reused; the id cannot), the email the primary one,
 * verified only when GitHub says so.
 */
export async function githubClaims(fetch: OutboundFetch, base: string, accessToken: string): Promise<UpstreamClaims> {
  const endpoints = githubEndpoints(base);
  const get = async <T>(url: string): Promise<T> => {
    const response = await fetch(url, {
      headers: {
        Accept: 'application/vnd.github+json',
        Authorization: `Bearer ${accessToken}`,
        'X-GitHub-Api-Version': '2022-11-28',
        'User-Agent': 'token-issuer',
      },
      redirect: 'error',
    });
    if (!response.ok) throw new Error(`GitHub answered ${response.status} at ${new URL(url).pathname}`);
    return (await response.json()) as T;
  };
  const [user, emails] = await Promise.all([get<GithubUser>(endpoints.user), get<GithubEmail[]>(endpoints.emails)]);
  if (typeof user.id !== 'number') throw new Error('GitHub named no user id');
  const primary = Array.isArray(emails) ? emails.find((email) => email.primary) : undefined;
  return {
    sub: String(user.id),
    preferred_username: user.login,
    name: user.name ?? undefined,
    email: primary?.email,
    email_verified: primary?.verified === true,
  };
}
