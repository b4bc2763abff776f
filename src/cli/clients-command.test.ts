import { describe, expect, it } from 'vitest';
import { clientRegistrationFrom } from './clients-command.js';

const base = ['--name', 'web', '--audiences', 'https://api.test', '--scopes', 'openid'];

describe('clients create for the authorization code flow', () => {
  it('takes redirect URIs, post-logout URIs and --first-party', () => {
    const registration = clientRegistrationFrom([
      ...base,
      '--grants',
      'authorization_code,refresh_token',
      '--redirect-uris',
      'https://web.test/cb,com.example.app:/cb',
      '--post-logout-redirect-uris',
      'https://web.test/bye',
      '--first-party',
    ]);
    expect(registration).toMatchObject({
      redirectUris: ['https://web.test/cb', 'com.example.app:/cb'],
      postLogoutRedirectUris: ['https://web.test/bye'],
      firstParty: true,
    });
  });

  it.each([
    [['--grants', 'authorization_code'], '--redirect-uris: the authorization_code grant needs at least one redirect URI'],
    [['--grants', 'authorization_code', '--redirect-uris', 'https://web.test/cb#frag'], '--redirect-uris: a redirect URI is'],
    [['--grants', 'authorization_code', '--redirect-uris', 'http://web.test/cb'], '--redirect-uris: a redirect URI is'],
    [['--grants', 'authorization_code', '--redirect-uris', 'https://*.web.test/cb'], '--redirect-uris: a redirect URI is'],
    [
      ['--grants', 'authorization_code', '--redirect-uris', 'https://web.test/cb', '--post-logout-redirect-uris', 'com.x.app:/bye'],
      '--post-logout-redirect-uris:',
    ],
  ])('%j is refused with a clear message', (options, message) => {
    expect(() => clientRegistrationFrom([...base, ...options])).toThrow(message);
  });
});
