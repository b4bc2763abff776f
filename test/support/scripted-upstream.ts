import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** What the next token response's id token says, and who signs it. */
export interface ScriptedIdToken {
  claims: Record<string, unknown>;
  /** Sign with a key the provider does not publish (a forged id token). */
  foreignKey?: boolean;
}

/**
 * An upstream OpenID Connect provider whose answers a test scripts: discovery, its JWKS, and a
 * token endpoint that returns the id token the test set for a code. It records the token requests
 * it receives (PKCE verifier, client authentication). For attacks node-oidc-provider would never
 * make; test/e2e/upstream-sign-in.e2e.test.ts signs in through a real one.
 */
export async function startScriptedUpstream(clientId: string) {
  const own = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(own.publicKey)), kid: 'upstream', alg: 'RS256', use: 'sig' };
  const scripts = new Map<string, ScriptedIdToken>();
  const tokenRequests: URLSearchParams[] = [];
  let issuer = '';

  const sign = (claims: Record<string, unknown>, key: CryptoKey) =>
    new SignJWT({ aud: clientId, iss: issuer, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'upstream' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key);

  const server: Server = createServer((request, response) => {
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const path = new URL(request.url ?? '/', issuer).pathname;
    if (path === '/.well-known/openid-configuration') {
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        authorization_response_iss_parameter_supported: true,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt'],
        token_endpoint_auth_signing_alg_values_supported: ['ES256'],
      });
    }
    if (path === '/jwks') return json(200, { keys: [jwk] });
    if (path === '/token' && request.method === 'POST') {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const params = new URLSearchParams(body);
        tokenRequests.push(params);
        const script = scripts.get(params.get('code') ?? '');
        if (!script) return json(400, { error: 'invalid_grant' });
        void sign(script.claims, script.foreignKey ? foreign.privateKey : own.privateKey).then((idToken) =>
          json(200, { access_token: 'upstream-access-token', token_type: 'Bearer', expires_in: 300, id_token: idToken }),
        );
      });
      return;
    }
    json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  return {
    get issuer() {
      return issuer;
    },
    /** The id token the token endpoint answers `code` with. */
    script(code: string, idToken: ScriptedIdToken) {
      scripts.set(code, idToken);
    },
    tokenRequests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type ScriptedUpstream = Awaited<ReturnType<typeof startScriptedUpstream>>;
