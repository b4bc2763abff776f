// Redirect URIs: which may be registered, and when a requested one matches (RFC 6749 §3.1.2,
// RFC 8252 §7 for native apps, RFC 9700 §2.1 exact matching).

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** RFC 8252 §7.1: a private-use scheme is a reverse domain name, so it contains a period. */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/;

/**
 * An absolute URI without a fragment or wildcard: https; http on the loopback interface (a native
 * app's local listener, RFC 8252 §7.3, or development); or a native app's private-use scheme.
 */
export function isRegistrableRedirectUri(value: string): boolean {
  if (value.length > 2048 || value.includes('#') || value.includes('*') || !URL.canParse(value)) return false;
  const url = new URL(value);
  if (url.username || url.password) return false;
  if (url.protocol === 'https:') return true;
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname);
  return PRIVATE_USE_SCHEME.test(url.protocol);
}

export const REDIRECT_URI_RULE =
  'a redirect URI is an https URL, an http URL on localhost, 127.0.0.1 or [::1], or a private-use scheme such as com.example.app:/callback; no fragment, no wildcard';

/**
 * The registered URI a requested one stands for: the same string exactly, except that a loopback IP
 * literal may come with any port (RFC 8252 §7.3: the app picks a free one when it starts).
 */
export function matchRedirectUri(registered: readonly string[], requested: string): string | undefined {
  if (registered.includes(requested)) return requested;
  if (!URL.canParse(requested)) return undefined;
  const url = new URL(requested);
  if (url.protocol !== 'http:' || !['127.0.0.1', '[::1]'].includes(url.hostname)) return undefined;
  const portless = new URL(requested);
  portless.port = '';
  return registered.includes(portless.href) ? requested : undefined;
}
