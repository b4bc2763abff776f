// node-oidc-provider as the reference: in-memory adapter, client_credentials with RS256 JWT access
// tokens (resource indicators), the same key size as ours. Run as its own process by bench/run.ts;
// prints one JSON line with its port once it listens.
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 0);
const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'reference', alg: 'RS256', use: 'sig' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: 'bench',
      client_secret: process.env.CLIENT_SECRET ?? 'bench-secret-bench-secret-bench-secret-1234',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [jwk] },
  features: {
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'https://api.bench',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'items:read',
        audience: 'https://api.bench',
        accessTokenTTL: 900,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
    devInteractions: { enabled: false },
  },
});
provider.on('server_error', (_ctx: unknown, error: Error) => console.error('reference server_error', error.message));

const server = provider.listen(port, () => {
  const address = server.address() as { port: number };
  console.log(JSON.stringify({ port: address.port, msg: 'listening' }));
});
