import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { open, seal } from './sealed-box.js';

describe('sealed box (AES-256-GCM)', () => {
  const key = randomBytes(32);

  it('round-trips and does not contain the plaintext', () => {
    const sealed = seal('{"d":"private"}', key, 'kid-1');
    expect(sealed).not.toContain('private');
    expect(open(sealed, key, 'kid-1')).toBe('{"d":"private"}');
  });

  it('uses a fresh nonce each time', () => {
    expect(seal('same', key, 'kid')).not.toBe(seal('same', key, 'kid'));
  });

  it('refuses another key, another key id, and any tampering', () => {
    const sealed = seal('secret', key, 'kid-1');
    expect(() => open(sealed, randomBytes(32), 'kid-1')).toThrow(/KEY_ENCRYPTION_KEY/);
    expect(() => open(sealed, key, 'kid-2')).toThrow();
    const bytes = Buffer.from(sealed.slice(3), 'base64url');
    bytes[bytes.length - 1]! ^= 1;
    expect(() => open(`v1.${bytes.toString('base64url')}`, key, 'kid-1')).toThrow();
    expect(() => open('v0.abc', key, 'kid-1')).toThrow(/format/);
  });
});
