import { post, type TokenResult } from './oauth-client.js';
import type { ClientCredentials } from './processes.js';

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { items?: Record<string, unknown>[] };
}

/** A JSON API call as a browser app or a script would make it. */
export async function callApi(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; body?: string; contentType?: string } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.body;
  if (options.json !== undefined) body = JSON.stringify(options.json);
  if (body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json';
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as ApiResponse['body']) : {} };
}

/** The password grant for a first-party client. */
export function signIn(
  baseUrl: string,
  client: ClientCredentials,
  username: string,
  password: string,
  scope?: string,
): Promise<TokenResult> {
  return post(`${baseUrl}/token`, {
    grant_type: 'password',
    client_id: client.client_id,
    client_secret: client.client_secret,
    username,
    password,
    ...(scope ? { scope } : {}),
  });
}

/** A client_credentials token. */
export function clientToken(baseUrl: string, client: ClientCredentials, scope?: string): Promise<TokenResult> {
  return post(`${baseUrl}/token`, {
    grant_type: 'client_credentials',
    client_id: client.client_id,
    client_secret: client.client_secret,
    ...(scope ? { scope } : {}),
  });
}

export function refresh(baseUrl: string, client: ClientCredentials, refreshToken: string): Promise<TokenResult> {
  return post(`${baseUrl}/token`, {
    grant_type: 'refresh_token',
    client_id: client.client_id,
    client_secret: client.client_secret,
    refresh_token: refreshToken,
  });
}

/** A GET answered with JSON: its status, headers and body. */
export async function getJson(url: string) {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}
