import { ApiError, invalidClient, invalidRequest } from '../errors.js';
import { isSafeText } from '../text.js';
import { digestMatches, presentedSecretDigest, UNKNOWN_CLIENT_HASH } from './client-secret.js';
import type { ClientDirectory } from './client-directory.js';
import { authMethodsOf, withoutSecret, type Client } from './client-registry.js';
import { assertedClientId, JWT_BEARER_ASSERTION, type ClientAssertionVerifiers } from './client-assertion.js';
import type { IpBudget } from '../throttle/ip-budget.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';
/** `none`: a public client sends only its client_id (RFC 7591 §2). */
export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'];

export interface ClientCredentialsInput {
  /** The raw Authorization header, if any. */
  authorization: string | undefined;
  /** `client_id` and `client_secret` from the request body. */
  clientId: string | undefined;
  clientSecret: string | undefined;
  /** `client_assertion_type` and `client_assertion` from the request body (RFC 7521 §4.2). */
  assertionType?: string;
  assertion?: string;
  /** Where the request came from, for the audit events of refused assertions. */
  ipAddress?: string;
}

const MAX_CLIENT_ID_LENGTH = 255;

/** The client authentication parameters of a request: its Authorization header and form fields. */
export function clientCredentialsOf(
  authorization: string | undefined,
  params: { get(name: string): string | undefined },
  ipAddress?: string,
): ClientCredentialsInput {
  return {
    authorization,
    ipAddress,
    clientId: params.get('client_id'),
    clientSecret: params.get('client_secret'),
    assertionType: params.get('client_assertion_type'),
    assertion: params.get('client_assertion'),
  };
}

/**
 * RFC 6749 §2.3.1 client authentication; every failure is the same `invalid_client`. A public
 * client presents its client_id alone and must not present a secret; a confidential one presents
 * its secret, or a JWT assertion: signed by one of its keys (private_key_jwt), or a workload's
 * platform token from a trusted issuer (federation), with `assertions`.
 */
export async function authenticateClient(
  clients: ClientDirectory,
  input: ClientCredentialsInput,
  assertions?: ClientAssertionVerifiers,
): Promise<Client> {
  if (input.assertion !== undefined || input.assertionType !== undefined) return byAssertion(clients, input, assertions);
  return counted(assertions?.refusals, input, () => bySecret(clients, input));
}

/** A refusal counts against the caller's address (throttle/ip-budget.ts), and past the limit is a 429. */
async function counted(refusals: IpBudget | undefined, input: ClientCredentialsInput, run: () => Promise<Client>): Promise<Client> {
  try {
    return await run();
  } catch (error) {
    if (refusals && error instanceof ApiError && error.code === 'invalid_client') await refusals.spend(input.ipAddress);
    throw error;
  }
}

async function bySecret(clients: ClientDirectory, input: ClientCredentialsInput): Promise<Client> {
  const usedHeader = input.authorization !== undefined;
  const credentials = usedHeader ? fromAuthorizationHeader(input) : fromBody(input);
  if (!credentials || credentials.id.length > MAX_CLIENT_ID_LENGTH) throw invalidClient(usedHeader);

  const row = await clients.find(credentials.id);
  if (credentials.secret === undefined) {
    // Only a public client goes by its client_id alone: not one with a secret, nor one with keys.
    if (!row || authMethodsOf(row).length > 0) throw invalidClient(usedHeader);
    return withoutSecret(row);
  }
  // Compare against a dummy hash for unknown (and public) clients, and for a client without a
  // previous secret, so every failure costs the same two comparisons.
  const presented = presentedSecretDigest(credentials.secret);
  const current = digestMatches(presented, row?.secretHash ?? UNKNOWN_CLIENT_HASH);
  const previous = digestMatches(presented, row?.previousSecretHash ?? UNKNOWN_CLIENT_HASH);
  // The secret a rotation replaced works until its overlap ends (client-registry.ts rotateClientSecret).
  const previousLive = row?.previousSecretExpiresAt != null && row.previousSecretExpiresAt.getTime() > Date.now();
  if (!row || row.secretHash === null || !(current || (previous && previousLive))) throw invalidClient(usedHeader);
  return withoutSecret(row);
}

/**
 * RFC 7523 §2.2: an assertion whose `iss` and `sub` are both a client_id is that client's own
 * (private_key_jwt); any other comes from an external issuer (a workload's platform token).
 */
async function byAssertion(
  clients: ClientDirectory,
  input: ClientCredentialsInput,
  verifiers: ClientAssertionVerifiers | undefined,
): Promise<Client> {
  // RFC 6749 §2.3: a client must not use more than one authentication method per request.
  if (input.authorization !== undefined || input.clientSecret !== undefined) {
    throw invalidRequest('use one client authentication method: a client assertion, or a secret, not both');
  }
  if (!verifiers) throw invalidClient(false);
  const assertion = input.assertion;
  const id = assertion === undefined ? undefined : assertedClientId(assertion);
  if (assertion !== undefined && input.assertionType === JWT_BEARER_ASSERTION && id === undefined) {
    // A platform token: the federated verifier counts and audits its own refusals.
    if (input.clientId !== undefined && input.clientId.length > MAX_CLIENT_ID_LENGTH) throw invalidClient(false);
    return withoutSecret(await verifiers.federated(assertion, { clientId: input.clientId, ipAddress: input.ipAddress }));
  }
  return counted(verifiers.refusals, input, async () => {
    if (input.assertionType !== JWT_BEARER_ASSERTION || !assertion || id === undefined) throw invalidClient(false);
    if (id.length > MAX_CLIENT_ID_LENGTH || (input.clientId !== undefined && input.clientId !== id)) throw invalidClient(false);
    const row = await clients.find(id);
    if (!row) throw invalidClient(false);
    await verifiers.ownKey(row, assertion, false);
    return withoutSecret(row);
  });
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
