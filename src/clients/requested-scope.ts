import { parseScope } from './scope.js';
import { invalidScope } from '../errors.js';

/**
 * RFC 6749 §3.3: the granted scope is the requested one when every token of it is allowed;
 * no `scope` parameter means every scope the client is allowed.
 */
export function resolveRequestedScope(requested: string | undefined, allowed: readonly string[]): string[] {
  if (requested === undefined) return [...allowed];
  const scopes = parseScope(requested);
  if (!scopes || scopes.length === 0) throw invalidScope('the scope parameter is malformed');
  const refused = scopes.filter((scope) => !allowed.includes(scope));
  if (refused.length > 0) throw invalidScope(`scope not allowed for this client: ${refused.join(' ')}`);
  return scopes;
}
