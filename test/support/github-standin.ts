import { createServer, type IncomingMessage, type Server } from 'node:http';

/**
 * A stand-in for GitHub (as a GitHub Enterprise Server at its own address): the OAuth token
 * endpoint and the two API calls the issuer makes, with one user. It records every request it
 * receives, headers and form, so a test can check what the issuer sent (PKCE, secret, headers).
 */
export async function startGithubStandIn(client: { id: string; secret: string }) {
  const requests: { path: string; headers: IncomingMessage['headers']; form?: URLSearchParams }[] = [];
  const codes = new Set<string>();
  const TOKEN = 'gho_standin_token';
  const server: Server = createServer((request, response) => {
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const path = (request.url ?? '/').split('?')[0]!;
    if (path === '/login/oauth/access_token' && request.method === 'POST') {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const form = new URLSearchParams(body);
        requests.push({ path, headers: request.headers, form });
        const ok =
          codes.delete(form.get('code') ?? '') && form.get('client_id') === client.id && form.get('client_secret') === client.secret;
        if (!ok) return json(400, { error: 'bad_verification_code' });
        json(200, { access_token: TOKEN, token_type: 'bearer', scope: 'read:user,user:email' });
      });
      return;
    }
    requests.push({ path, headers: request.headers });
    if (request.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { message: 'Bad credentials' });
    if (path === '/api/v3/user') return json(200, { id: 4242, login: 'octo-cat', name: 'Octo Cat', email: null });
    if (path === '/api/v3/user/emails') {
      return json(200, [
        { email: 'octo@other.test', primary: false, verified: true },
        { email: 'octo@github.test', primary: true, verified: true },
      ]);
    }
    json(404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    base,
    requests,
    /** A code the token endpoint will take once. */
    issueCode(code: string) {
      codes.add(code);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
