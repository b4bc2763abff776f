import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeClient, registerClient } from '../src/clients/client-administration.js';
import type { CreatedClient } from '../src/clients/client-registry.js';
import { clientRegistrationFrom } from '../src/cli/clients-command.js';
import { outboundPolicyFrom } from '../src/outbound/outbound-policy.js';
import { createFlowHarness, ISSUER, locationOf, pathOf, PASSWORD, type FlowHarness } from './support/authorization-flow.js';
import { hiddenFields, pkcePair } from './support/page-browser.js';

const CALLBACK = 'https://legacy.example.com/callback';

/**
 * PKCE is required of every client by default (RFC 9700 §2.1.1, OAuth 2.1). A confidential client
 * registered with pkce_required false (relying parties such as authlib send none by default) may
 * send an OpenID Connect request with a nonce instead; nothing else changes, and a code issued
 * without a challenge refuses a code_verifier (RFC 9700 §4.8.2, PKCE downgrade).
 */
describe('PKCE optional for a confidential client that sends a nonce', () => {
  let flow: FlowHarness;
  let legacy: CreatedClient;

  beforeAll(async () => {
    flow = await createFlowHarness();
    const deps = { ...flow.harness.revocation, outbound: { policy: outboundPolicyFrom(flow.harness.config) } };
    legacy = await registerClient(
      deps,
      {
        name: 'Legacy portal',
        grantTypes: ['authorization_code'],
        scopes: ['openid', 'profile'],
        audiences: ['https://orders.test'],
        redirectUris: [CALLBACK],
        firstParty: true,
        pkceRequired: false,
      },
      { actor: 'test' },
    );
  });
  afterAll(() => flow?.harness.close());

  /** An authorization request without PKCE, signed in at the login page: the answer's Location. */
  async function signInWithout(params: Record<string, string | undefined>) {
    const browser = flow.newBrowser();
    const query = new URLSearchParams({ response_type: 'code', client_id: legacy.id, state: 's' });
    for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, value);
    const started = await browser.get(`/authorize?${query}`);
    expect(started.status).toBe(303);
    if (locationOf(started).pathname !== '/authorize/login') return locationOf(started);
    const page = await (await browser.get(pathOf(started))).text();
    return locationOf(await browser.post('/authorize/login', { ...hiddenFields(page), username: 'alice', password: PASSWORD }));
  }

  async function exchange(code: string, extra: Record<string, string> = {}) {
    const response = await flow.harness.app.request('/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: legacy.id, client_secret: legacy.secret!, ...extra }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  }

  it('is shown in the registration, and refused for a public client', async () => {
    expect(legacy.pkceRequired).toBe(false);
    expect(flow.clients.web.pkceRequired).toBe(true);
    const base = ['--name', 'spa', '--grants', 'authorization_code', '--audiences', 'https://a.test', '--redirect-uris', CALLBACK];
    expect(clientRegistrationFrom([...base, '--pkce-optional']).pkceRequired).toBe(false);
    expect(() => clientRegistrationFrom([...base, '--public', '--pkce-optional'])).toThrow(
      '--pkce-optional: a public client must use PKCE',
    );
  });

  it('signs in with openid and a nonce alone; the id token carries the nonce', async () => {
    const answer = await signInWithout({ scope: 'openid profile', nonce: 'n-0S6_WzA2Mj' });
    const code = answer.searchParams.get('code')!;
    expect(answer.origin + answer.pathname).toBe(CALLBACK);
    const { status, body } = await exchange(code);
    expect(status).toBe(200);
    expect(decodeJwt(body.id_token!)).toMatchObject({ iss: ISSUER, aud: legacy.id, nonce: 'n-0S6_WzA2Mj' });
  });

  it.each([
    ['no nonce', { scope: 'openid profile' }],
    ['no openid scope', { scope: 'profile', nonce: 'n-1' }],
  ])('still needs PKCE with %s', async (_case, params) => {
    const answer = await signInWithout(params);
    expect(answer.searchParams.get('error')).toBe('invalid_request');
    expect(answer.searchParams.get('error_description')).toBe(
      'code_challenge is required (PKCE, RFC 7636), or a nonce with the openid scope',
    );
  });

  it('refuses a code_verifier for a code issued without a challenge (a PKCE downgrade)', async () => {
    const answer = await signInWithout({ scope: 'openid', nonce: 'n-2' });
    const attempt = await exchange(answer.searchParams.get('code')!, { code_verifier: pkcePair().verifier });
    expect(attempt).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('checks a challenge that is sent, as for any client', async () => {
    const pkce = pkcePair();
    const answer = await signInWithout({ scope: 'openid', nonce: 'n-3', code_challenge: pkce.challenge, code_challenge_method: 'S256' });
    const code = answer.searchParams.get('code')!;
    expect((await exchange(code)).body.error).toBe('invalid_grant');
    const again = await signInWithout({ scope: 'openid', nonce: 'n-4', code_challenge: pkce.challenge, code_challenge_method: 'S256' });
    expect((await exchange(again.searchParams.get('code')!, { code_verifier: pkce.verifier })).status).toBe(200);
  });

  it('stops a code issued without PKCE once the client is made to require it', async () => {
    const answer = await signInWithout({ scope: 'openid', nonce: 'n-5' });
    const changed = await changeClient(
      flow.harness.revocation,
      legacy,
      { pkceRequired: true },
      { actor: 'test', changed: ['pkce_required'] },
    );
    try {
      expect(changed.pkceRequired).toBe(true);
      expect((await exchange(answer.searchParams.get('code')!)).body.error).toBe('invalid_grant');
      expect((await signInWithout({ scope: 'openid', nonce: 'n-6' })).searchParams.get('error_description')).toBe(
        'code_challenge is required (PKCE, RFC 7636) with code_challenge_method=S256',
      );
    } finally {
      legacy = {
        ...legacy,
        ...(await changeClient(flow.harness.revocation, changed, { pkceRequired: false }, { actor: 'test', changed: [] })),
      };
    }
  });
});
