// This issuer as an OpenID Connect relying party of its upstream providers, with openid-client:
// one discovered configuration per provider, fetched under the outbound policy and kept for a
// while, so a sign-in costs no discovery round trip.
import { importJWK, type JWK } from 'jose';
import * as oidc from 'openid-client';
import type { IdentityProviderRow } from '../db/schema.js';
import { invalidRequest } from '../errors.js';
import { open } from '../keys/sealed-box.js';
import type { Outbound } from '../outbound/outbound-fetch.js';
import { githubClaims, githubEndpoints } from './github.js';
import type { UpstreamClaims } from './upstream-accounts.js';

export const sealingContext = (providerId: string) => `idp:${providerId}`;
export const clientKeySealingContext = (providerId: string) => `idp-key:${providerId}`;

/** How long a discovered configuration is used before it is fetched again. */
const CONFIGURATION_TTL_MS = 10 * 60_000;
/** An upstream that does not answer in this long is down, for this sign-in. */
const UPSTREAM_TIMEOUT_SECONDS = 5;

export interface UpstreamClients {
  configurationOf(provider: IdentityProviderRow): Promise<oidc.Configuration>;
  /** Discovery for a provider about to be registered (GitHub has none): throws `invalid_request` saying what failed. */
  check(provider: IdentityProviderRow): Promise<void>;
  forget(providerId: string): void;
  /** Who a GitHub access token is, from GitHub's API (github.ts). */
  githubClaims(provider: IdentityProviderRow, accessToken: string): Promise<UpstreamClaims>;
}

export function createUpstreamClients(deps: { keyEncryptionKey: Buffer; outbound: Outbound; now?: () => number }): UpstreamClients {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { configuration: oidc.Configuration; until: number }>();

  async function discover(provider: IdentityProviderRow): Promise<oidc.Configuration> {
    const issuer = new URL(provider.issuer);
    const clientAuth = await clientAuthOf(provider);
    if (provider.kind === 'github') {
      // No discovery document: GitHub's endpoints are known (github.ts).
      const endpoints = githubEndpoints(provider.issuer);
      const server = { issuer: provider.issuer, authorization_endpoint: endpoints.authorization, token_endpoint: endpoints.token };
      const configuration = new oidc.Configuration(server, provider.clientId, {}, clientAuth);
      configuration[oidc.customFetch] = deps.outbound.fetch as oidc.CustomFetch;
      configuration.timeout = UPSTREAM_TIMEOUT_SECONDS;
      if (issuer.protocol === 'http:') oidc.allowInsecureRequests(configuration);
      return configuration;
    }
    return oidc.discovery(issuer, provider.clientId, undefined, clientAuth, {
      [oidc.customFetch]: deps.outbound.fetch as oidc.CustomFetch,
      timeout: UPSTREAM_TIMEOUT_SECONDS,
      execute: [
        // The id token's signature is checked against the provider's JWKS too, not only the TLS of
        // the token endpoint (which OpenID Connect Core §3.1.3.7 would allow): an id token signed
        // by any other key never signs anyone in.
        oidc.enableNonRepudiationChecks,
        // Plain http only reaches a loopback upstream (the outbound policy refuses the rest): development and tests.
        ...(issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : []),
      ],
    });
  }

  /** How this issuer authenticates to the provider at its token endpoint. */
  async function clientAuthOf(provider: IdentityProviderRow): Promise<oidc.ClientAuth> {
    if (provider.clientKeySealed) {
      const jwk = JSON.parse(open(provider.clientKeySealed, deps.keyEncryptionKey, clientKeySealingContext(provider.id))) as JWK;
      return oidc.PrivateKeyJwt({ key: (await importJWK(jwk, 'ES256')) as oidc.CryptoKey, kid: jwk.kid });
    }
    if (provider.clientSecretSealed)
      return oidc.ClientSecretPost(open(provider.clientSecretSealed, deps.keyEncryptionKey, sealingContext(provider.id)));
    return oidc.None();
  }

  return {
    async configurationOf(provider) {
      const cached = cache.get(provider.id);
      if (cached && cached.until > now()) return cached.configuration;
      const configuration = await discover(provider);
      cache.set(provider.id, { configuration, until: now() + CONFIGURATION_TTL_MS });
      return configuration;
    },
    async check(provider) {
      if (provider.kind === 'github') return;
      await discover(provider).catch((error: unknown) => {
        throw invalidRequest(
          `issuer: its discovery document could not be used (${error instanceof Error ? error.message : String(error)})`,
        );
      });
    },
    forget(providerId) {
      cache.delete(providerId);
    },
    githubClaims(provider, accessToken) {
      return githubClaims(deps.outbound.fetch, provider.issuer, accessToken);
    },
  };
}
