import { describe, expect, it } from 'vitest';
import { OAuthError } from '../errors.js';
import { resolveRequestedAudience } from './requested-audience.js';
import { resolveRequestedScope } from './requested-scope.js';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof OAuthError ? error.code : 'not an OAuthError';
  }
  return undefined;
}

describe('resolveRequestedScope (RFC 6749 §3.3)', () => {
  const allowed = ['invoices:read', 'invoices:write'];

  it('grants every allowed scope when none is requested', () => {
    expect(resolveRequestedScope(undefined, allowed)).toEqual(allowed);
  });

  it('grants a subset, ignoring repeated spaces and repeats', () => {
    expect(resolveRequestedScope('invoices:read  invoices:read', allowed)).toEqual(['invoices:read']);
  });

  it('refuses a scope the client is not allowed', () => {
    expect(codeOf(() => resolveRequestedScope('invoices:read admin', allowed))).toBe('invalid_scope');
  });

  it('refuses malformed scope tokens', () => {
    expect(codeOf(() => resolveRequestedScope('invoices:read "quoted"', allowed))).toBe('invalid_scope');
    expect(codeOf(() => resolveRequestedScope('back\\slash', allowed))).toBe('invalid_scope');
    expect(codeOf(() => resolveRequestedScope('   ', allowed))).toBe('invalid_scope');
  });
});

describe('resolveRequestedAudience (RFC 8707)', () => {
  const allowed = ['https://a.internal', 'https://b.internal'];

  it('gives every allowed audience without resource', () => {
    expect(resolveRequestedAudience([], allowed)).toEqual(allowed);
  });

  it('narrows to the requested resources', () => {
    expect(resolveRequestedAudience(['https://b.internal'], allowed)).toEqual(['https://b.internal']);
  });

  it('refuses a resource outside the client audiences', () => {
    expect(codeOf(() => resolveRequestedAudience(['https://c.internal'], allowed))).toBe('invalid_target');
    expect(codeOf(() => resolveRequestedAudience(['https://a.internal/'], allowed))).toBe('invalid_target');
  });
});
