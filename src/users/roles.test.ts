import { describe, expect, it } from 'vitest';
import { scopesAllowedForRoles } from './roles.js';

describe('scopesAllowedForRoles', () => {
  it('keeps the admin scope for admins only', () => {
    expect(scopesAllowedForRoles(['openid', 'admin', 'orders:read'], ['user'])).toEqual(['openid', 'orders:read']);
    expect(scopesAllowedForRoles(['openid', 'admin'], ['moderator', 'user'])).toEqual(['openid']);
    expect(scopesAllowedForRoles(['openid', 'admin'], ['admin'])).toEqual(['openid', 'admin']);
  });

  it('leaves unrestricted scopes alone', () => {
    expect(scopesAllowedForRoles([], ['user'])).toEqual([]);
    expect(scopesAllowedForRoles(['a', 'b'], [])).toEqual(['a', 'b']);
  });
});
