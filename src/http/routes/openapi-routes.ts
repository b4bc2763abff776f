import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';

/** The API contract at the repository root, found the same way from src/ and dist/. */
export const OPENAPI_PATH = fileURLToPath(new URL('../../../openapi.yaml', import.meta.url));

/**
 * The contract as served: its `servers` is this issuer, so Swagger UI's "Try it out" calls the
 * address the page came from (its CSP admits only this origin), whatever `ISSUER` and `PORT` are.
 */
export function withServer(contract: string, issuer: string): string {
  const servers = /^servers:\n(?: {2}.*\n)+/m;
  if (!servers.test(contract)) throw new Error('openapi.yaml has no top-level servers list');
  return contract.replace(servers, `servers:\n  - url: ${JSON.stringify(issuer)}\n    description: this issuer\n`);
}

export function openApiRoutes(issuer: string): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  let document: Promise<string> | undefined;

  routes.get('/openapi.yaml', async function openApi(c) {
    document ??= readFile(OPENAPI_PATH, 'utf8')
      .then((contract) => withServer(contract, issuer))
      .catch((error: unknown) => {
        document = undefined;
        throw error;
      });
    return c.body(await document, 200, { 'Content-Type': 'application/yaml; charset=utf-8' });
  });

  return routes;
}
