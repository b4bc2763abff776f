// One service of a call chain, as a team would write it on @token-issuer/verifier: it checks the
// caller's token locally (or an API key, exchanged once), and when it has a next service it
// exchanges the token it received for one for that service (RFC 8693) and calls it.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createVerifier, requireAuth, type AuthEnv } from '@token-issuer/verifier';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`hop-service: ${name} is required`);
  return value;
};
const issuer = env('ISSUER');
const issuerUrl = env('ISSUER_URL');
const tokenEndpoint = `${issuerUrl}/token`;

const verifier = createVerifier({
  issuer,
  audience: env('AUDIENCE'),
  jwksUri: `${issuerUrl}/.well-known/jwks.json`,
  apiKeys: { tokenEndpoint },
  denylist: process.env.REDIS_URL ? { redis: process.env.REDIS_URL, prefix: process.env.REDIS_KEY_PREFIX } : undefined,
  logger: { info: () => {}, warn: (message) => console.error(message) },
});

const app = new Hono<AuthEnv>();
app.get(
  '/work',
  requireAuth({ verifier, ...(process.env.REQUIRE_ACTOR ? { requireActor: process.env.REQUIRE_ACTOR.split(',') } : {}) }),
  async (c) => {
    const principal = c.get('principal');
    const here = { service: env('NAME'), sub: principal.sub, actors: principal.actors, scope: principal.scope };
    const next = process.env.NEXT_URL;
    if (!next) return c.json(here);
    const exchanged = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: `Basic ${Buffer.from(`${env('CLIENT_ID')}:${env('CLIENT_SECRET')}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: c.req.header('Authorization')!.slice('Bearer '.length),
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        audience: env('NEXT_AUDIENCE'),
      }),
    });
    const answer = (await exchanged.json()) as { access_token?: string; error?: string };
    if (!answer.access_token) return c.json({ ...here, exchange: answer.error }, 502);
    const downstream = await fetch(`${next}/work`, { headers: { Authorization: `Bearer ${answer.access_token}` } });
    return c.json({ ...here, next: { status: downstream.status, body: await downstream.json() } }, downstream.ok ? 200 : 502);
  },
);

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  console.log(JSON.stringify({ service: env('NAME'), port: info.port, msg: 'listening' }));
});
process.on('SIGTERM', () => server.close(() => void verifier.close().then(() => process.exit(0))));
