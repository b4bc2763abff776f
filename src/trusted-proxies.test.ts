import { describe, expect, it } from 'vitest';
import { clientAddressResolver, parseTrustedProxies } from './trusted-proxies.js';

const resolver = (value: string) => clientAddressResolver(parseTrustedProxies(value)!);

describe('TRUST_PROXY', () => {
  it('parses false, hop counts and address lists', () => {
    expect(parseTrustedProxies('false')).toEqual({ kind: 'none' });
    expect(parseTrustedProxies('0')).toEqual({ kind: 'none' });
    expect(parseTrustedProxies('2')).toEqual({ kind: 'hops', hops: 2 });
    expect(parseTrustedProxies('10.0.0.0/8, 192.0.2.7,::1')).toEqual({ kind: 'addresses', list: ['10.0.0.0/8', '192.0.2.7', '::1'] });
    for (const bad of ['true', 'yes', '10.0.0.0/33', 'example.com', '1.2.3.4/8/9', '-1']) expect(parseTrustedProxies(bad)).toBeUndefined();
  });

  it('ignores X-Forwarded-For by default', () => {
    expect(resolver('false')('203.0.113.5', '198.51.100.1')).toBe('203.0.113.5');
    expect(resolver('false')('::ffff:203.0.113.5', undefined)).toBe('203.0.113.5');
  });

  it('with one hop, takes the entry the proxy appended, not the one the client wrote', () => {
    const resolve = resolver('1');
    // nginx `$proxy_add_x_forwarded_for`: the client sent "1.1.1.1", the proxy appended the real peer.
    expect(resolve('10.0.0.2', '1.1.1.1, 198.51.100.9')).toBe('198.51.100.9');
    expect(resolve('10.0.0.2', '198.51.100.9')).toBe('198.51.100.9');
    expect(resolve('10.0.0.2', undefined)).toBe('10.0.0.2');
  });

  it('with two hops, skips both proxies from the right', () => {
    const resolve = resolver('2');
    expect(resolve('10.0.0.3', '6.6.6.6, 198.51.100.9, 10.0.0.2')).toBe('198.51.100.9');
    // Fewer entries than hops: the leftmost one there is, which a trusted proxy wrote.
    expect(resolve('10.0.0.3', '198.51.100.9')).toBe('198.51.100.9');
  });

  it('with trusted addresses, walks left past every trusted proxy and stops at the first other address', () => {
    const resolve = resolver('10.0.0.0/8,2001:db8::/32');
    expect(resolve('10.0.0.3', '6.6.6.6, 198.51.100.9, 10.1.2.3')).toBe('198.51.100.9');
    expect(resolve('2001:db8::1', '198.51.100.9')).toBe('198.51.100.9');
    // The peer is not a trusted proxy: whatever it wrote is ignored.
    expect(resolve('203.0.113.5', '10.9.9.9')).toBe('203.0.113.5');
    // Only trusted proxies all the way: the leftmost of them.
    expect(resolve('10.0.0.3', '10.0.0.9')).toBe('10.0.0.9');
  });

  it('stops at a malformed entry and keeps the last address it could read', () => {
    expect(resolver('2')('10.0.0.3', 'not-an-ip, 10.0.0.2')).toBe('10.0.0.2');
    expect(resolver('1')('10.0.0.3', '<script>')).toBe('10.0.0.3');
  });
});
