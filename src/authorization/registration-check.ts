// A sign-in takes minutes and a code lives a minute: the client's registration may change meanwhile.
// Every step (login, consent, code exchange) checks what the request asked for against the
// registration as it is now (RFC 6749 §3.1.2.2 and §3.3, RFC 9700 §4.1).
import type { Client } from '../clients/client-registry.js';
import { matchRedirectUri } from '../clients/redirect-uri.js';
import type { AuthorizationRequestRow } from '../db/schema.js';
import { type ApiError, invalidAuthorizationRequest, invalidRequest, invalidScope, invalidTarget, unauthorizedClient } from '../errors.js';

/**
 * Why the client may no longer have what `request` asked for, or undefined when it still may. A
 * redirect URI no longer registered is an error for a page (nothing is sent to it); the rest are
 * errors for the redirect URI.
 */
export function registrationRefusal(
  client: Client,
  request: Pick<AuthorizationRequestRow, 'redirectUri' | 'scope' | 'audience' | 'codeChallenge'>,
): ApiError | undefined {
  if (matchRedirectUri(client.redirectUris, request.redirectUri) === undefined) {
    return invalidAuthorizationRequest('the redirect_uri is no longer registered for this client');
  }
  if (request.codeChallenge === null && client.pkceRequired) return invalidRequest('this client now requires PKCE (code_challenge)');
  if (!client.grantTypes.includes('authorization_code'))
    return unauthorizedClient('this client may no longer use the authorization_code grant');
  const lost = request.scope.filter((scope) => !client.scopes.includes(scope));
  if (lost.length > 0) return invalidScope(`scope no longer allowed for this client: ${lost.join(' ')}`);
  if (request.audience.some((audience) => !client.audiences.includes(audience))) {
    return invalidTarget('the requested resource is no longer one this client may get tokens for');
  }
  return undefined;
}
