import { readFileSync } from 'node:fs';
import { compileErrors, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { OPENAPI_PATH } from '../src/http/routes/openapi-routes.js';
import { createInProcessApp, type InProcessApp } from './support/in-process-app.js';

type OpenApiDocument = { openapi: string; paths: Record<string, Record<string, unknown>> };

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
const source = readFileSync(OPENAPI_PATH, 'utf8');
const document = parse(source) as OpenApiDocument;

let harness: InProcessApp;
beforeAll(async () => {
  harness = await createInProcessApp();
});
afterAll(async () => {
  await harness?.close();
});

/** Hono writes path parameters as `:id`, OpenAPI as `{id}`. */
const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('openapi.yaml', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toMatch(/^3\.1\./);
    const result = await validate(structuredClone(document) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  });

  it('describes exactly the routes the app serves, no more and no fewer', () => {
    const served = harness.app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => `${route.method} ${toOpenApiPath(route.path)}`);
    const described = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => HTTP_METHODS.has(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect([...new Set(served)].sort()).toEqual(described.sort());
  });

  it('is what GET /openapi.yaml serves, with this issuer as its one server (Swagger UI calls it)', async () => {
    const response = await harness.app.request('/openapi.yaml');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/yaml/);
    const served = parse(await response.text()) as OpenApiDocument & { servers: unknown };
    expect(served.servers).toEqual([{ url: harness.config.issuer, description: 'this issuer' }]);
    expect({ ...served, servers: undefined }).toEqual({ ...document, servers: undefined });
  });
});
