import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';

/** The API contract at the repository root, found the same way from src/ and dist/. */
export const OPENAPI_PATH = fileURLToPath(new URL('../../../openapi.yaml', import.meta.url));

export function openApiRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  let document: Promise<string> | undefined;

  routes.get('/openapi.yaml', async function openApi(c) {
    document ??= readFile(OPENAPI_PATH, 'utf8').catch((error: unknown) => {
      document = undefined;
      throw error;
    });
    return c.body(await document, 200, { 'Content-Type': 'application/yaml; charset=utf-8' });
  });

  return routes;
}
