// The authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1), checked in the order
// that decides where an error may go: first the client and redirect URI (errors shown on a page),
// then everything else (errors sent back to that redirect URI).
import type { ClientDirectory } from '../clients/client-directory.js';
import { withoutSecret, type Client } from '../clients/client-registry.js';
import { matchRedirectUri } from '../clients/redirect-uri.js';
import {
  invalidAuthorizationRequest,
  invalidRequest,
  requestNotSupported,
  unauthorizedClient,
  unsupportedResponseType,
} from '../errors.js';
import type { TokenParams } from '../request-parameters.js';
import { resolveRequestedAudience } from '../clients/requested-audience.js';
import { resolveRequestedScope } from '../clients/requested-scope.js';

/** Where the answer goes: known once the client and its redirect URI check out. */
export interface AuthorizationTarget {
  client: Client;
  redirectUri: string;
  /** RFC 6749 §4.1.3: the token request must then repeat it. */
  redirectUriGiven: boolean;
  /** Sent back unchanged with every answer, errors included (RFC 6749 §4.1.2). */
  state: string | undefined;
}

export interface AuthorizationRequest extends AuthorizationTarget {
  scope: string[];
  audience: string[];
  nonce: string | undefined;
  /** Null only for a client let off PKCE, whose request then carried a nonce. */
  codeChallenge: string | null;
  prompt: Set<Prompt>;
  /** Seconds: a sign-in older than this is not good enough (OpenID Connect Core §3.1.2.1). */
  maxAge: number | undefined;
  loginHint: string | undefined;
  /** OpenID Connect Core §3.1.2.1: the assurance levels asked for, most preferred first. */
  acrValues: string[];
}

export type Prompt = 'none' | 'login' | 'consent';
const PROMPTS: readonly string[] = ['none', 'login', 'consent'];

/** RFC 7636 §4.2: BASE64URL(SHA-256(verifier)) is 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** Long enough for any real state or nonce; longer ones are refused rather than stored. */
const MAX_VALUE_LENGTH = 512;
const MAX_CLIENT_ID_LENGTH = 255;

/**
 * The client and redirect URI, or an error for a page: an unknown client or a URI it did not
 * register is never redirected to (RFC 6749 §4.1.2.1, RFC 9700 §4.1). The URI must match a
 * registered one exactly, and may be left out only when exactly one is registered.
 */
export async function resolveAuthorizationTarget(clients: ClientDirectory, params: TokenParams): Promise<AuthorizationTarget> {
  const clientId = params.get('client_id');
  if (!clientId || clientId.length > MAX_CLIENT_ID_LENGTH) throw invalidAuthorizationRequest('the client_id parameter is missing');
  const row = await clients.find(clientId);
  if (!row) throw invalidAuthorizationRequest('there is no such client');
  const client = withoutSecret(row);
  const requested = params.get('redirect_uri');
  const redirectUri =
    requested === undefined
      ? client.redirectUris.length === 1
        ? client.redirectUris[0]
        : undefined
      : matchRedirectUri(client.redirectUris, requested);
  if (redirectUri === undefined) {
    throw invalidAuthorizationRequest(
      requested === undefined
        ? 'the redirect_uri parameter is required: this client registered more than one (or none)'
        : 'the redirect_uri is not registered for this client',
    );
  }
  const state = params.get('state');
  return { client, redirectUri, redirectUriGiven: requested !== undefined, state: state?.slice(0, MAX_VALUE_LENGTH) };
}

/** Everything else in the request; errors are for the client, at its redirect URI. */
export function checkAuthorizationRequest(target: AuthorizationTarget, params: TokenParams): AuthorizationRequest {
  // OpenID Connect Core §6: request objects are not supported, and saying so beats ignoring them.
  if (params.get('request') !== undefined) throw requestNotSupported('request');
  if (params.get('request_uri') !== undefined) throw requestNotSupported('request_uri');
  if (params.get('response_type') === undefined) throw invalidRequest('the response_type parameter is required');
  if (params.get('response_type') !== 'code') throw unsupportedResponseType();
  const mode = params.get('response_mode');
  if (mode !== undefined && mode !== 'query') throw invalidRequest('only response_mode=query is supported');
  if (!target.client.grantTypes.includes('authorization_code')) {
    throw unauthorizedClient('this client may not use the authorization_code grant');
  }
  if ((params.get('state')?.length ?? 0) > MAX_VALUE_LENGTH) throw invalidRequest(`state is longer than ${MAX_VALUE_LENGTH} characters`);

  const nonce = params.get('nonce');
  if (nonce !== undefined && nonce.length > MAX_VALUE_LENGTH) throw invalidRequest(`nonce is longer than ${MAX_VALUE_LENGTH} characters`);
  const scope = resolveRequestedScope(params.get('scope'), target.client.scopes);
  const codeChallenge = challengeOf(params, target.client, { openid: scope.includes('openid'), nonce });
  const loginHint = params.get('login_hint');
  return {
    ...target,
    scope,
    audience: resolveRequestedAudience(params.getAll('resource'), target.client.audiences),
    nonce,
    codeChallenge,
    prompt: promptOf(params.get('prompt')),
    maxAge: maxAgeOf(params.get('max_age')),
    loginHint: loginHint && loginHint.length <= 254 ? loginHint : undefined,
    acrValues: acrValuesOf(params.get('acr_values')),
  };
}

/**
 * RFC 9700 §2.1.1: PKCE for every client, and only S256 (plain would hand the verifier to whoever
 * sees the URL). A confidential client registered with PKCE optional may instead send an OpenID
 * Connect request with a `nonce`, which the id token binds to its session (node-oidc-provider's
 * default for confidential clients); null then.
 */
function challengeOf(params: TokenParams, client: Client, request: { openid: boolean; nonce: string | undefined }): string | null {
  const codeChallenge = params.get('code_challenge');
  if (!codeChallenge) {
    if (!client.pkceRequired && request.openid && request.nonce) return null;
    throw invalidRequest(
      client.pkceRequired
        ? 'code_challenge is required (PKCE, RFC 7636) with code_challenge_method=S256'
        : 'code_challenge is required (PKCE, RFC 7636), or a nonce with the openid scope',
    );
  }
  if (params.get('code_challenge_method') !== 'S256') throw invalidRequest('code_challenge_method must be S256');
  if (!S256_CHALLENGE.test(codeChallenge)) throw invalidRequest('code_challenge is not a base64url SHA-256 value');
  return codeChallenge;
}

function promptOf(value: string | undefined): Set<Prompt> {
  const prompts = new Set((value ?? '').split(' ').filter(Boolean));
  const unknown = [...prompts].filter((prompt) => !PROMPTS.includes(prompt));
  if (unknown.length > 0) throw invalidRequest('prompt takes none, login or consent');
  // OpenID Connect Core §3.1.2.1: none with anything else is an error.
  if (prompts.has('none') && prompts.size > 1) throw invalidRequest('prompt=none cannot be combined with other values');
  return prompts as Set<Prompt>;
}

function acrValuesOf(value: string | undefined): string[] {
  if (value === undefined) return [];
  if (value.length > MAX_VALUE_LENGTH) throw invalidRequest(`acr_values is longer than ${MAX_VALUE_LENGTH} characters`);
  return value.split(' ').filter(Boolean).slice(0, 10);
}

function maxAgeOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw invalidRequest('max_age is a whole number of seconds');
  return Number(value);
}

/** The redirect that carries an answer: the parameters in the query (RFC 6749 §4.1.2), and `iss` (RFC 9207). */
export function redirectWith(
  target: Pick<AuthorizationTarget, 'redirectUri' | 'state'>,
  issuer: string,
  values: Record<string, string>,
): string {
  const url = new URL(target.redirectUri);
  for (const [name, value] of Object.entries(values)) url.searchParams.set(name, value);
  if (target.state !== undefined) url.searchParams.set('state', target.state);
  url.searchParams.set('iss', issuer);
  return url.href;
}
