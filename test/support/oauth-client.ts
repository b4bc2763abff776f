import type { decodeProtectedHeader } from 'jose';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { ClientCredentials } from './processes.js';

export interface TokenResult {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export function basicAuth({ client_id, client_secret }: ClientCredentials): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client_id)}:${encodeURIComponent(client_secret)}`).toString('base64')}`;
}

/** POSTs a form (or JSON, when `json` is set) the way an OAuth client does. */
export async function post(
  url: string,
  body: Record<string, string>,
  options: { headers?: Record<string, string>; json?: boolean } = {},
): Promise<TokenResult> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': options.json ? 'application/json' : 'application/x-www-form-urlencoded',
      ...options.headers,
    },
    body: options.json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Verifies any token of ours the way a downstream service would: against the served JWKS. */
export async function verifyAgainstJwks(
  baseUrl: string,
  token: string,
  expected: { issuer: string; typ: string; audience: string },
): Promise<{ payload: JWTPayload; header: ReturnType<typeof decodeProtectedHeader> }> {
  const jwks = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { ...expected, algorithms: ['RS256'] });
  return { payload, header: protectedHeader };
}
