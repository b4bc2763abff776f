import type { Client } from './client-registry.js';

/**
 * The browser origins a client's pages run at: those of its registered redirect URIs (Keycloak's
 * "web origins" default, node-oidc-provider's client-based CORS), so that registering a single-page
 * app is all it takes for its pages to call /token, /revoke and /userinfo. A loopback IP's origin
 * matches on any port, as its redirect URI does (RFC 8252 §7.3); private-use schemes have no origin.
 */
export function isWebOriginOf(client: Pick<Client, 'redirectUris'>, origin: string): boolean {
  if (!URL.canParse(origin)) return false;
  const asked = new URL(origin);
  if (asked.origin !== origin) return false;
  return client.redirectUris.some((uri) => {
    const registered = new URL(uri);
    if (registered.protocol !== 'http:' && registered.protocol !== 'https:') return false;
    if (registered.origin === origin) return true;
    const loopbackIp = registered.protocol === 'http:' && ['127.0.0.1', '[::1]'].includes(registered.hostname);
    return loopbackIp && asked.protocol === 'http:' && asked.hostname === registered.hostname;
  });
}
