// An upstream OpenID Connect provider for the tests: node-oidc-provider in its own process, with its
// development login form (any login, any password). Its accounts are the logins below: each login
// is the account's `sub`, with the email and verification the tests need. Prints one JSON line with
// its port once it listens, as the issuer does.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://localhost:${port}`;

/** The accounts the tests sign in as, by login. Any other login is an account without an email. */
const ACCOUNTS: Record<string, { email: string; email_verified: boolean; name: string; amr?: string[] }> = {
  frank: { email: 'frank@upstream.test', email_verified: true, name: 'Frank Upstream' },
  // The same address as a password account of the issuer: must never sign in to it.
  erin: { email: 'erin@upstream.test', email_verified: true, name: 'Erin Elsewhere' },
  // An address the provider never checked.
  gina: { email: 'gina@upstream.test', email_verified: false, name: 'Gina Unverified' },
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'token-issuer',
      client_secret: process.env.CLIENT_SECRET!,
      redirect_uris: [process.env.REDIRECT_URI!],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  // The id token carries the claims of the scopes, as Google's and Entra ID's do.
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  findAccount: (_ctx: unknown, id: string) => ({
    accountId: id,
    claims: () => ({ sub: id, ...ACCOUNTS[id] }),
  }),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['upstream-test-cookie-key-upstream-test-cookie-key'] },
});
provider.on('server_error', (_ctx: unknown, error: Error) => console.error('upstream server_error', error.message));

const server = provider.listen(port, () => {
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port, msg: 'listening' }));
});
