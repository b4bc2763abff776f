import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { lookup } from 'node:dns';
import { createOutboundFetch } from './outbound-fetch.js';

/** A resolver that answers every name with `address`, as a hostile DNS record would. */
const resolvingTo = (address: string) =>
  ((_hostname: string, _options: unknown, callback: (error: null, addresses: { address: string; family: number }[]) => void) =>
    callback(null, [{ address, family: 4 }])) as unknown as typeof lookup;

/** The reason a fetch failed, however deep undici wrapped it. */
async function refusalOf(pending: Promise<Response>): Promise<string> {
  const error = (await pending.then(() => undefined).catch((caught: unknown) => caught)) as Error | undefined;
  let reason = error;
  while (reason?.cause instanceof Error) reason = reason.cause;
  return reason?.message ?? 'fetched';
}

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer((_request, response) => response.end('{"keys":[]}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('the outbound fetch', () => {
  it('fetches what the policy allows', async () => {
    const fetch = createOutboundFetch({ production: false, loopbackHosts: [] });
    const response = await fetch(`http://localhost:${port}/jwks`);
    expect(await response.json()).toEqual({ keys: [] });
  });

  it('in production, refuses localhost, and a name that resolves to loopback when it connects', async () => {
    const fetch = createOutboundFetch({ production: true, loopbackHosts: [] }, resolvingTo('127.0.0.1'));
    await expect(fetch(`https://localhost:${port}/jwks`)).rejects.toThrow('not fetched in production');
    expect(await refusalOf(fetch(`https://keys.example.test:${port}/jwks`))).toContain(
      'resolves to an address the issuer does not fetch from',
    );
  });

  it('never connects to a metadata address a name resolves to (DNS rebinding)', async () => {
    const fetch = createOutboundFetch({ production: false, loopbackHosts: [] }, resolvingTo('169.254.169.254'));
    expect(await refusalOf(fetch('https://keys.example.test/jwks'))).toContain('resolves to an address the issuer does not fetch from');
  });

  it('refuses a metadata address before any connection', async () => {
    const fetch = createOutboundFetch({ production: false, loopbackHosts: [] });
    await expect(fetch('http://169.254.169.254/latest/meta-data/')).rejects.toThrow('never fetched');
  });
});
