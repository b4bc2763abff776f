import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from '@token-issuer/verifier';

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'https://api.test';

/** The verifier library with @opentelemetry/api and an SDK in the service: one span per verification. */
describe('verifier spans', () => {
  const exporter = new InMemorySpanExporter();
  let verifier: Verifier;
  let sign: (expiresAt: number) => Promise<string>;

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    verifier = createVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' }] },
    });
    sign = (expiresAt) =>
      new SignJWT({ client_id: 'app' })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('user-1')
        .setIssuedAt(expiresAt - 600)
        .setExpirationTime(expiresAt)
        .setJti('j')
        .sign(privateKey);
  });
  afterAll(() => {
    // The API's globals outlive this file in its worker: leave them as they were.
    trace.disable();
    context.disable();
  });

  it('records each verification with its outcome, never the token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = await sign(now + 600);
    const expired = await sign(now - 600);
    await verifier.verify(good);
    await expect(verifier.verify(expired)).rejects.toThrow();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => [span.name, span.attributes['token_issuer.outcome']])).toEqual([
      ['token-issuer verify', 'accepted'],
      ['token-issuer verify', 'invalid_token: expired'],
    ]);
    expect(JSON.stringify(spans.map((span) => span.attributes))).not.toContain(good.split('.')[1]);
  });
});
