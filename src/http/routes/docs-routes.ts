import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { notFound } from '../../errors.js';
import type { AppEnv } from '../app-env.js';

const swaggerUiDirectory = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** Files of swagger-ui-dist served under /docs/, by name: nothing else of the disk is reachable. */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

/** Relative links: the page works wherever the issuer is mounted. No inline script (see the CSP). */
const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>token-issuer API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/start.js"></script>
</body>
</html>
`;

const START = `window.ui = SwaggerUIBundle({ url: 'openapi.yaml', dom_id: '#swagger-ui', deepLinking: true });\n`;

/** Swagger UI for openapi.yaml at /docs, from the swagger-ui-dist package (nothing from a CDN); its
 * Content-Security-Policy is in http/middleware/browser-policy.ts. */
export function docsRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const cache = new Map<string, Promise<Buffer>>();

  routes.get('/docs', function docsPage(c) {
    return c.html(PAGE, 200, { 'Cache-Control': 'no-cache' });
  });

  routes.get('/docs/:file', async function docsAsset(c) {
    const file = c.req.param('file');
    if (file === 'start.js') return c.body(START, 200, { 'Content-Type': ASSETS['swagger-ui-bundle.js']!, 'Cache-Control': 'no-cache' });
    const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!type) throw notFound();
    let content = cache.get(file);
    if (!content) {
      content = readFile(join(swaggerUiDirectory, file));
      cache.set(file, content);
    }
    return c.body(new Uint8Array(await content), 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=3600' });
  });

  return routes;
}
