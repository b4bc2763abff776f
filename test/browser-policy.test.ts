import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInProcessApp, type InProcessApp } from './support/in-process-app.js';
import { createClient } from '../src/clients/client-registry.js';
import { pkcePair } from './support/page-browser.js';

let plain: InProcessApp;
let secure: InProcessApp;

beforeAll(async () => {
  plain = await createInProcessApp({ env: { CORS_ORIGINS: 'https://app.example.com,http://localhost:5173' } });
  secure = await createInProcessApp({ issuer: 'https://auth.example.com' });
});
afterAll(async () => {
  await plain?.close();
  await secure?.close();
});

const preflight = (app: InProcessApp, origin: string, path = '/token') =>
  app.app.request(path, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
  });

describe('CORS', () => {
  it('answers a preflight of the account API from a configured origin, naming exactly that origin, with credentials', async () => {
    const response = await preflight(plain, 'http://localhost:5173', '/me');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
  });

  it('gives a refused origin no CORS headers on the account API, and never a wildcard', async () => {
    const response = await preflight(plain, 'https://evil.example', '/me');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await plain.app.request('/healthz', { headers: { Origin: 'https://evil.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await plain.app.request('/healthz', { headers: { Origin: 'https://app.example.com' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate');
    expect((await preflight(secure, 'https://app.example.com', '/me')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets any page read discovery and the JWKS: public documents, no credentials', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/.well-known/jwks.json']) {
      const response = await secure.app.request(path, { headers: { Origin: 'https://anyone.example' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  describe('at the endpoints a browser app calls as a client', () => {
    let spa: Awaited<ReturnType<typeof createClient>>;
    const SPA_ORIGIN = 'https://dashboard.partner.example';
    beforeAll(async () => {
      spa = await createClient(secure.database.db, {
        name: 'partner dashboard',
        isPublic: true,
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['openid'],
        audiences: ['https://orders.example'],
        redirectUris: [`${SPA_ORIGIN}/callback`, 'com.example.app:/callback'],
      });
    });
    const tokenRequest = (origin: string) =>
      secure.app.request('/token', {
        method: 'POST',
        headers: { Origin: origin, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-token', client_id: spa.id }),
      });

    it('lets the pages of a registered redirect URI read the answer, errors included, with nothing configured', async () => {
      const response = await tokenRequest(SPA_ORIGIN);
      expect(response.status).toBe(400);
      expect(response.headers.get('access-control-allow-origin')).toBe(SPA_ORIGIN);
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      expect(response.headers.get('vary')).toContain('Origin');
    });

    it('lets no other page read it', async () => {
      expect((await tokenRequest('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
      expect((await tokenRequest('https://dashboard.partner.example.evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    });

    it('answers a preflight for any origin (it cannot name its client), without credentials', async () => {
      for (const path of ['/token', '/userinfo', '/revoke']) {
        const response = await preflight(secure, 'https://whoever.example', path);
        expect(response.status).toBe(204);
        expect(response.headers.get('access-control-allow-origin')).toBe('https://whoever.example');
        expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      }
    });
  });
});

describe('security headers', () => {
  it('are on every response, error responses included', async () => {
    for (const path of ['/healthz', '/.well-known/jwks.json', '/no/such/path', '/me', '/admin/users']) {
      const response = await plain.app.request(path);
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it('give the /docs page a CSP of its own: scripts from this origin only, still never framed', async () => {
    const page = await plain.app.request('/docs');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect((await plain.app.request('/docs/swagger-ui-bundle.js')).status).toBe(200);
    expect((await plain.app.request('/docs/package.json')).status).toBe(404);
    expect((await plain.app.request('/docs/..%2Fpackage.json')).status).toBe(404);
  });

  it('send Strict-Transport-Security only when the issuer is https', async () => {
    expect((await plain.app.request('/healthz')).headers.get('strict-transport-security')).toBeNull();
    expect((await secure.app.request('/healthz')).headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });
});

describe('the sign-in cookies over https', () => {
  it('carry the __Host- prefix, Secure, HttpOnly, SameSite=Lax and Path=/ (no Domain)', async () => {
    const client = await createClient(secure.database.db, {
      name: 'web',
      grantTypes: ['authorization_code'],
      scopes: ['openid'],
      audiences: ['https://auth.example.com'],
      redirectUris: ['https://web.example.com/cb'],
    });
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: client.id,
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    });
    const response = await secure.app.request(`/authorize?${params}`);
    const [cookie] = response.headers.getSetCookie();
    expect(cookie).toMatch(/^__Host-ti_browser=[A-Za-z0-9_-]{43};/);
    for (const flag of ['Path=/', 'HttpOnly', 'Secure', 'SameSite=Lax']) expect(cookie).toContain(flag);
    expect(cookie).not.toMatch(/Domain=/i);
  });
});
