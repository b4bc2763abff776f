import { describe, expect, it } from 'vitest';
import { instant } from './instant.js';

describe('instant', () => {
  it.each(['2026-01-31T12:00:00Z', '2024-02-29T23:59:59.999+05:30', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z'])(
    'accepts %s',
    (value) => {
      expect(instant.parse(value)).toEqual(new Date(value));
    },
  );

  it.each([
    'yesterday',
    '',
    '0000-01-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-31T12:00:00',
    '+010000-01-01T00:00:00Z',
  ])('refuses %j with a message, never an exception', (value) => {
    const parsed = instant.safeParse(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/date-time/);
  });
});
