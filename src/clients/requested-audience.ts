import { invalidTarget } from '../errors.js';

/**
 * RFC 8707 §2: `resource` (which may repeat) narrows the audience to those resources, each of which
 * must be one the client may get tokens for. Without it the token is for all of the client's audiences.
 */
export function resolveRequestedAudience(resources: string[], allowed: readonly string[]): string[] {
  if (resources.length === 0) return [...allowed];
  const refused = resources.filter((resource) => !allowed.includes(resource));
  if (refused.length > 0) throw invalidTarget('the requested resource is not one this client may get tokens for');
  return [...new Set(resources)];
}
