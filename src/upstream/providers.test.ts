import { describe, expect, it } from 'vitest';
import { issuerOf, newProviderSchema } from './providers.js';

describe('provider presets', () => {
  it('knows where Google, Microsoft (per tenant) and GitHub are, and takes an Enterprise Server or any issuer given', () => {
    expect(issuerOf({ type: 'google' })).toBe('https://accounts.google.com');
    expect(issuerOf({ type: 'microsoft', tenant: 'contoso.onmicrosoft.com' })).toBe(
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0',
    );
    expect(issuerOf({ type: 'github' })).toBe('https://github.com');
    expect(issuerOf({ type: 'github', issuer: 'https://github.example.com/' })).toBe('https://github.example.com');
    expect(issuerOf({ type: 'oidc', issuer: 'https://login.acme.example' })).toBe('https://login.acme.example');
  });

  it.each([
    [{ type: 'oidc' }, 'issuer'],
    [{ type: 'microsoft' }, 'tenant'],
    [{ type: 'oidc', issuer: 'https://a.example', scopes: ['email'] }, 'scopes'],
    [{ type: 'github', privateKeyJwt: true }, 'privateKeyJwt'],
    [{ type: 'oidc', issuer: 'https://a.example', privateKeyJwt: true, clientSecret: 's' }, 'privateKeyJwt'],
    [{ type: 'oidc', issuer: 'https://a.example', name: 'Has Spaces' }, 'name'],
  ])('refuses %j, naming %s', (fields, field) => {
    const parsed = newProviderSchema.safeParse({ name: 'acme', clientId: 'c', ...fields });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((issue) => issue.path[0])).toContain(field);
  });
});
