import type { Context } from 'hono';
import type { TokenParams } from '../request-parameters.js';
import { invalidRequest } from '../errors.js';
import { refuseUnsafeText } from './middleware/input-text.js';

/**
 * RFC 8707 §2 and RFC 8693 §2.1: `resource` and `audience` may be given more than once; every other
 * parameter at most once.
 */
const REPEATABLE = new Set(['resource', 'audience']);

/**
 * Reads an application/x-www-form-urlencoded body the strict way RFC 6749 asks: only that media
 * type (§3.2), no parameter twice (§3.1), empty values treated as absent (§3.1), and no text that
 * no field accepts (NUL, unpaired surrogates).
 */
export async function readForm(c: Context): Promise<TokenParams> {
  if (mediaTypeOf(c) !== 'application/x-www-form-urlencoded') {
    throw invalidRequest('the request body must be application/x-www-form-urlencoded');
  }
  return paramsOf(new URLSearchParams(await c.req.text()));
}

/** The query string of a GET that takes the same parameters as a form (RFC 6749 §4.1.1 GET /authorize). */
export function readQueryParams(c: Context): TokenParams {
  return paramsOf(new URL(c.req.url).searchParams);
}

function paramsOf(pairs: URLSearchParams): TokenParams {
  const values = new Map<string, string[]>();
  for (const [name, value] of pairs) {
    refuseUnsafeText(name, value);
    if (value === '') continue;
    const seen = values.get(name);
    if (seen && !REPEATABLE.has(name)) throw invalidRequest(`the ${safeName(name)} parameter is repeated`);
    values.set(name, [...(seen ?? []), value]);
  }
  return {
    get: (name) => values.get(name)?.[0],
    getAll: (name) => values.get(name) ?? [],
  };
}

/** The request's media type, lower-case, without parameters. */
export function mediaTypeOf(c: Context): string {
  return (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Parameter names are echoed in errors, so only plain ones are. */
function safeName(name: string): string {
  return /^[a-z_]{1,40}$/.test(name) ? name : 'same';
}

/** Credentials and tokens never travel in a URL (RFC 6749 §2.3.1, RFC 6750 §5.3); nor does anything else here. */
export function refuseQueryString(c: Context): void {
  if (new URL(c.req.url).search !== '') throw invalidRequest('send the parameters in the request body, not in the URL');
}
