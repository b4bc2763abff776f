import { describe, expect, it } from 'vitest';
import { mayConnectTo, outboundUrlProblem, type OutboundPolicy } from './outbound-policy.js';

const development: OutboundPolicy = { production: false, loopbackHosts: [] };
const production: OutboundPolicy = { production: true, loopbackHosts: ['127.0.0.1:8081'] };

describe('which URLs the issuer fetches for others', () => {
  it.each([
    'https://169.254.169.254/latest/meta-data/',
    'https://169.254.170.2/v2/credentials',
    'http://[fe80::1]/jwks',
    'https://[::ffff:169.254.169.254]/jwks',
    'https://[::ffff:a9fe:a9fe]/jwks',
    'https://[fd00:ec2::254]/jwks',
    'https://100.100.100.200/latest/meta-data',
    'https://metadata.google.internal/computeMetadata/v1/',
    'https://METADATA.GOOGLE.INTERNAL./x',
    'http://0.0.0.0:8080/jwks',
    'https://[::]/jwks',
  ])('never %s, in any deployment', (url) => {
    expect(outboundUrlProblem(url, development)).toMatch(/never fetched|https URL/);
    expect(outboundUrlProblem(url, production)).toMatch(/never fetched|https URL/);
  });

  it.each([
    ['http://evil.example/jwks', 'not an https URL'],
    ['ftp://example.com/jwks', 'not an https URL'],
    ['https://user:pass@example.com/jwks', 'no credentials'],
    ['https://example.com/jwks#x', 'no fragment'],
    ['not a url', 'not a URL'],
  ])('refuses %s', (url, problem) => {
    expect(outboundUrlProblem(url, development)).toContain(problem);
  });

  it('takes https anywhere else, and loopback (http too) only outside production or when listed', () => {
    expect(outboundUrlProblem('https://keys.example.com/jwks', production)).toBeUndefined();
    expect(outboundUrlProblem('https://10.0.0.7/jwks', production)).toBeUndefined();
    for (const url of ['http://localhost:3000/jwks', 'http://127.0.0.1:9000/jwks', 'https://[::1]/jwks']) {
      expect(outboundUrlProblem(url, development)).toBeUndefined();
      expect(outboundUrlProblem(url, production)).toContain('not fetched in production');
    }
    expect(outboundUrlProblem('http://127.0.0.1:8081/jwks', production)).toBeUndefined();
  });

  it('connects only to addresses the policy allows, whatever the name said', () => {
    expect(mayConnectTo('169.254.169.254', 'keys.example.com', development)).toBe(false);
    expect(mayConnectTo('::ffff:169.254.169.254', 'keys.example.com', development)).toBe(false);
    expect(mayConnectTo('127.0.0.1', 'keys.example.com', development)).toBe(true);
    expect(mayConnectTo('127.0.0.1', 'keys.example.com', production)).toBe(false);
    expect(mayConnectTo('127.0.0.1', '127.0.0.1', production)).toBe(true);
    expect(mayConnectTo('203.0.113.9', 'keys.example.com', production)).toBe(true);
  });
});
