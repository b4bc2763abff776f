// A downstream API as another team would write it: it knows the issuer only through
// `token-issuer/verifier`, and never calls the issuer per request.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createVerifier, requireAuth, type AuthEnv } from '@token-issuer/verifier';

const issuer = process.env.ISSUER;
const audience = process.env.AUDIENCE;
if (!issuer || !audience) {
  console.error('demo-api: ISSUER and AUDIENCE are required');
  process.exit(1);
}

const verifier = createVerifier({
  issuer,
  audience,
  jwksUri: process.env.JWKS_URI,
  jwksCacheMaxAge: process.env.JWKS_CACHE_MAX_AGE ? Number(process.env.JWKS_CACHE_MAX_AGE) : undefined,
  denylist: process.env.REDIS_URL ? { redis: process.env.REDIS_URL, prefix: process.env.REDIS_KEY_PREFIX } : undefined,
});

const app = new Hono<AuthEnv>();
app.get('/healthz', (c) => c.json({ status: 'ok' }));
app.get('/public', (c) => c.json({ message: 'anyone may read this' }));
app.get('/items', requireAuth({ verifier, scopes: ['items:read'] }), (c) =>
  c.json({ items: [{ id: 1, name: 'teapot' }], caller: c.get('principal').sub }),
);
app.get('/admin', requireAuth({ verifier, roles: ['admin'] }), (c) => c.json({ admin: true, caller: c.get('principal').sub }));

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 4000), hostname: process.env.HOST ?? '0.0.0.0' }, (info) => {
  console.log(JSON.stringify({ service: 'demo-api', port: info.port, msg: 'listening' }));
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.close(() => void verifier.close().then(() => process.exit(0)));
  });
}
