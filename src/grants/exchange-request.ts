// The parameters every token exchange (RFC 8693 §2.1) shares, whatever its subject.
import { invalidRequest, invalidTarget } from '../errors.js';
import type { TokenParams } from '../request-parameters.js';
import type { MintedToken } from '../tokens/access-token.js';
import type { TokenResponse } from '../tokens/user-tokens.js';

/** RFC 8693 §3: the token types this issuer exchanges and issues. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const REFRESH_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:refresh_token';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

/** RFC 8693 §2.1: `subject_token` and `subject_token_type` are both required. */
export function subjectOf(params: TokenParams): { token: string; type: string } {
  const token = params.get('subject_token');
  const type = params.get('subject_token_type');
  if (!token || !type) throw invalidRequest('the subject_token and subject_token_type parameters are required');
  return { token, type };
}

/** Only access tokens are issued: `requested_token_type`, when given, must ask for one. */
export function checkRequestedTokenType(params: TokenParams): void {
  const requested = params.get('requested_token_type');
  if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE) {
    throw invalidRequest(`only access tokens are issued by token exchange (requested_token_type ${ACCESS_TOKEN_TYPE})`);
  }
}

/**
 * The one service the new token is for, named by `audience` or `resource` (RFC 8693 §2.1 allows
 * both, RFC 8707 for `resource`): each hop of a chain gets a token for its next hop only. Undefined
 * when neither is given.
 */
export function requestedTarget(params: TokenParams): string | undefined {
  const targets = [...new Set([...params.getAll('audience'), ...params.getAll('resource')])];
  if (targets.length > 1) throw invalidTarget('name one target service: a token exchange issues a token for one audience');
  return targets[0];
}

/** The target must be one the client (or key) may get tokens for: RFC 8693 §2.2.2 invalid_target otherwise. */
export function allowedTarget(target: string | undefined, allowed: readonly string[]): string[] {
  if (target === undefined) return [...allowed];
  if (!allowed.includes(target)) throw invalidTarget('the requested audience is not one this client may get tokens for');
  return [target];
}

/** RFC 8693 §2.2.1: the answer of an exchange, an access token of this issuer. */
export function exchangeResponse(minted: MintedToken, scope: readonly string[]): TokenResponse {
  return {
    access_token: minted.token,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: minted.expiresIn,
    ...(scope.length > 0 ? { scope: scope.join(' ') } : {}),
  };
}
