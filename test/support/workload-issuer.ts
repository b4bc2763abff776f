import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/**
 * A workload platform's token issuer, as a Kubernetes API server or GitHub Actions is to us: it
 * serves OpenID discovery and its JWKS over real HTTP on 127.0.0.1, and signs the tokens it gives
 * its workloads. Its key can be rotated, and it can stop answering.
 */
export interface WorkloadIssuer {
  /** Its `iss`: its own URL. */
  issuer: string;
  /** A token with these claims over the defaults (`iat` now, `exp` an hour on, a fresh `jti`). */
  mint(claims: Record<string, unknown>, options?: { key?: CryptoKey; kid?: string }): Promise<string>;
  /** A new signing key: the JWKS serves only it from now on. */
  rotateKey(): Promise<void>;
  /** While false, its JWKS answers 503. */
  serving: boolean;
  /** Where its discovery document says its keys are (its own /openid/v1/jwks unless set). */
  advertisedJwksUri?: string;
  /** The issuer its discovery document names (its own URL unless set). */
  advertisedIssuer?: string;
  /** How many times its JWKS was fetched. */
  jwksFetches: number;
  close(): Promise<void>;
}

export async function startWorkloadIssuer(): Promise<WorkloadIssuer> {
  let signing = await newKey();
  const server = createServer((request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.url === '/.well-known/openid-configuration') {
      send(200, {
        issuer: workload.advertisedIssuer ?? workload.issuer,
        jwks_uri: workload.advertisedJwksUri ?? `${workload.issuer}/openid/v1/jwks`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    } else if (request.url === '/openid/v1/jwks') {
      workload.jwksFetches += 1;
      if (workload.serving) send(200, { keys: [signing.publicJwk] });
      else send(503, { error: 'unavailable' });
    } else {
      send(404, {});
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const workload: WorkloadIssuer = {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serving: true,
    jwksFetches: 0,
    async mint(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: workload.issuer, iat: now, nbf: now, exp: now + 3600, jti: randomBytes(12).toString('hex'), ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? signing.publicJwk.kid })
        .sign(options.key ?? signing.privateKey);
    },
    async rotateKey() {
      signing = await newKey();
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return workload;
}

async function newKey(): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' } };
}

/** The claims of a Kubernetes projected service-account token for `namespace`/`name`. */
export function serviceAccountClaims(namespace: string, name: string, audience: string): Record<string, unknown> {
  return {
    sub: `system:serviceaccount:${namespace}:${name}`,
    aud: [audience],
    'kubernetes.io': {
      namespace,
      serviceaccount: { name, uid: '5a3e9c4b-0000-4000-8000-000000000001' },
      pod: { name: `${name}-7d9f8-abcde`, uid: '5a3e9c4b-0000-4000-8000-000000000002' },
    },
  };
}

/** The claims of a GitHub Actions OIDC token for a workflow run on `ref` of `repository`. */
export function githubActionsClaims(repository: string, ref: string, audience: string): Record<string, unknown> {
  return {
    sub: `repo:${repository}:ref:${ref}`,
    aud: audience,
    repository,
    repository_owner: repository.split('/')[0],
    ref,
    workflow: 'deploy',
    event_name: 'push',
    runner_environment: 'github-hosted',
  };
}
