import { describe, expect, it } from 'vitest';
import { isRegistrableRedirectUri, matchRedirectUri } from './redirect-uri.js';

describe('redirect URIs', () => {
  it.each([
    'https://app.example.com/callback',
    'https://app.example.com/callback?tenant=a',
    'http://localhost:3000/callback',
    'http://127.0.0.1/callback',
    'http://[::1]/callback',
    'com.example.app:/oauth2redirect', // RFC 8252 §7.1
  ])('may register %s', (uri) => expect(isRegistrableRedirectUri(uri)).toBe(true));

  it.each([
    ['a fragment', 'https://app.example.com/callback#x'],
    ['a wildcard', 'https://*.example.com/callback'],
    ['plain http elsewhere', 'http://app.example.com/callback'],
    ['a relative URI', '/callback'],
    ['a scheme without a period', 'myapp:/callback'],
    ['javascript:', 'javascript:alert(1)'],
    ['data:', 'data:text/html,hi'],
    ['credentials', 'https://user:pass@app.example.com/callback'],
  ])('may not register one with %s', (_case, uri) => expect(isRegistrableRedirectUri(uri)).toBe(false));

  it('matches exactly, except the port of a loopback IP (RFC 8252 §7.3)', () => {
    const registered = ['https://app.example.com/cb', 'http://127.0.0.1/cb', 'http://localhost:8080/cb'];
    expect(matchRedirectUri(registered, 'https://app.example.com/cb')).toBe('https://app.example.com/cb');
    expect(matchRedirectUri(registered, 'http://127.0.0.1:49152/cb')).toBe('http://127.0.0.1:49152/cb');
    expect(matchRedirectUri(registered, 'https://app.example.com/cb/')).toBeUndefined();
    expect(matchRedirectUri(registered, 'https://APP.example.com/cb')).toBeUndefined();
    expect(matchRedirectUri(registered, 'https://app.example.com/cb?next=/')).toBeUndefined();
    expect(matchRedirectUri(registered, 'http://127.0.0.1:49152/other')).toBeUndefined();
    // localhost is a name, not an IP literal: its port is part of the registration.
    expect(matchRedirectUri(registered, 'http://localhost:9090/cb')).toBeUndefined();
  });
});
