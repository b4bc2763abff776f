// What a client is, as everyone but client authentication sees it.
import type { ClientRow } from '../db/schema.js';

/**
 * How a confidential client may authenticate: with its secret (RFC 6749 §2.3.1, Basic or in the
 * body), with a JWT signed by one of its keys (private_key_jwt, RFC 7523 §2.2), with a token from a
 * trusted external issuer bound to it (federation, federation/), or any set of them.
 */
export type ClientAuthKind = 'client_secret' | 'private_key_jwt' | 'federation';
export const CLIENT_AUTH_KINDS: readonly ClientAuthKind[] = ['client_secret', 'private_key_jwt', 'federation'];

/** A client as everyone but the authentication code sees it: never a secret hash. */
export type Client = Omit<ClientRow, 'secretHash' | 'previousSecretHash'> & {
  /** Neither a secret nor keys: it identifies itself by client_id alone (RFC 6749 §2.1). */
  isPublic: boolean;
  authMethods: ClientAuthKind[];
};

export function withoutSecret({ secretHash, previousSecretHash: _previous, ...client }: ClientRow): Client {
  const authMethods = authMethodsOf({ secretHash, ...client });
  return { ...client, isPublic: authMethods.length === 0, authMethods };
}

/** What the row allows: its secret when it has one, private_key_jwt when it has keys, and federation. */
export function authMethodsOf(row: Pick<ClientRow, 'secretHash' | 'jwks' | 'jwksUri' | 'federated'>): ClientAuthKind[] {
  const methods: ClientAuthKind[] = [];
  if (row.secretHash !== null) methods.push('client_secret');
  if (row.jwks !== null || row.jwksUri !== null) methods.push('private_key_jwt');
  if (row.federated) methods.push('federation');
  return methods;
}
