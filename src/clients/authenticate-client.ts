import { invalidClient, invalidRequest } from '../errors.js';
import { isSafeText } from '../text.js';
import { secretMatches, UNKNOWN_CLIENT_HASH } from './client-secret.js';
import type { ClientDirectory } from './client-directory.js';
import { withoutSecret, type Client } from './client-registry.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';
/** `none`: a public client sends only its client_id (RFC 7591 §2). */
export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];

export interface ClientCredentialsInput {
  /** The raw Authorization header, if any. */
  authorization: string | undefined;
  /** `client_id` and `client_secret` from the request body. */
  clientId: string | undefined;
  clientSecret: string | undefined;
}

const MAX_CLIENT_ID_LENGTH = 255;

/**
 * RFC 6749 §2.3.1 client authentication; every failure is the same `invalid_client`. A public
 * client presents its client_id alone and must not present a secret; a confidential one must.
 */
export async function authenticateClient(clients: ClientDirectory, input: ClientCredentialsInput): Promise<Client> {
  const usedHeader = input.authorization !== undefined;
  const credentials = usedHeader ? fromAuthorizationHeader(input) : fromBody(input);
  if (!credentials || credentials.id.length > MAX_CLIENT_ID_LENGTH) throw invalidClient(usedHeader);

  const row = await clients.find(credentials.id);
  if (credentials.secret === undefined) {
    if (!row || row.secretHash !== null) throw invalidClient(usedHeader);
    return withoutSecret(row);
  }
  // Compare against a dummy hash for unknown (and public) clients, and for a client without a
  // previous secret, so every failure costs the same two comparisons.
  const current = secretMatches(credentials.secret, row?.secretHash ?? UNKNOWN_CLIENT_HASH);
  const previous = secretMatches(credentials.secret, row?.previousSecretHash ?? UNKNOWN_CLIENT_HASH);
  // The secret a rotation replaced works until its overlap ends (client-registry.ts rotateClientSecret).
  const previousLive = row?.previousSecretExpiresAt != null && row.previousSecretExpiresAt.getTime() > Date.now();
  if (!row || row.secretHash === null || !(current || (previous && previousLive))) throw invalidClient(usedHeader);
  return withoutSecret(row);
}

function fromAuthorizationHeader(input: ClientCredentialsInput): { id: string; secret: string } | undefined {
  // RFC 6749 §2.3: a client must not use more than one authentication method per request.
  if (input.clientSecret !== undefined) {
    throw invalidRequest('use either HTTP Basic or client_secret in the body, not both');
  }
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(input.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  if (!isSafeText(decoded)) return undefined;
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const id = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  // Percent-decoding may bring back what the raw header could not carry.
  if (!id || !secret || !isSafeText(id) || !isSafeText(secret)) return undefined;
  if (input.clientId !== undefined && input.clientId !== id) {
    throw invalidRequest('client_id in the body does not match the Authorization header');
  }
  return { id, secret };
}

function fromBody(input: ClientCredentialsInput): { id: string; secret: string | undefined } | undefined {
  if (!input.clientId) return undefined;
  return { id: input.clientId, secret: input.clientSecret };
}

/** RFC 6749 §2.3.1: the id and secret are form-urlencoded before they go into the Basic header. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
