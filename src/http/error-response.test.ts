import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { invalidClient, invalidScope } from '../errors.js';
import type { AppEnv } from './app-env.js';
import { errorResponse } from './error-response.js';

function appThrowing(error: unknown) {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set('logger', createLogger('silent'));
    await next();
  });
  app.get('/', () => {
    throw error;
  });
  app.onError(errorResponse);
  return app;
}

async function call(error: unknown) {
  const response = await appThrowing(error).request('/');
  return { status: response.status, headers: response.headers, body: await response.text() };
}

describe('errorResponse', () => {
  it('maps an OAuthError to its RFC 6749 §5.2 status and body, uncacheable', async () => {
    const { status, headers, body } = await call(invalidScope('scope not allowed for this client: admin'));
    expect(status).toBe(400);
    expect(JSON.parse(body)).toEqual({ error: 'invalid_scope', error_description: 'scope not allowed for this client: admin' });
    expect(headers.get('cache-control')).toBe('no-store');
    expect(headers.get('content-type')).toBe('application/json');
  });

  it('adds WWW-Authenticate for invalid_client when the Authorization header was used', async () => {
    expect((await call(invalidClient(true))).headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await call(invalidClient(false))).headers.get('www-authenticate')).toBeNull();
  });

  it('answers an unexpected error with a bare server_error: no message, no stack', async () => {
    const { status, body } = await call(new TypeError('cannot read secret internals of undefined'));
    expect(status).toBe(500);
    expect(JSON.parse(body)).toEqual({ error: 'server_error', error_description: expect.any(String) });
    expect(body).not.toMatch(/internals|TypeError|at /);
  });

  it('answers a connection failure, however wrapped, with 503 and Retry-After', async () => {
    const wrapped = new Error('Failed query: select 1', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    const { status, headers, body } = await call(wrapped);
    expect(status).toBe(503);
    expect(headers.get('retry-after')).toBe('5');
    expect(JSON.parse(body).error).toBe('temporarily_unavailable');
    expect(body).not.toContain('ECONNREFUSED');
  });
});
