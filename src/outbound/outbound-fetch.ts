import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { context, propagation, SpanKind } from '@opentelemetry/api';
import { Agent, fetch as undiciFetch } from 'undici';
import { inSpan } from '../tracing/spans.js';
import { mayConnectTo, outboundUrlProblem, type OutboundPolicy } from './outbound-policy.js';

/** What the issuer fetches others' URLs with (jose's and openid-client's customFetch take it as it is). */
export type OutboundFetch = (
  url: string,
  init?: {
    signal?: AbortSignal;
    redirect?: 'error' | 'manual';
    headers?: Headers | Record<string, string>;
    method?: string;
    body?: string | URLSearchParams | null;
  },
) => Promise<Response>;

/** Fetches under the policy, and the policy to check registrations against before any fetch. */
export interface Outbound {
  policy: OutboundPolicy;
  fetch: OutboundFetch;
}

export function createOutbound(policy: OutboundPolicy): Outbound {
  return { policy, fetch: createOutboundFetch(policy) };
}

/** A fetch the policy forbids: the URL, or every address its name resolved to. */
export class OutboundRefused extends Error {
  constructor(reason: string) {
    super(`not fetched: ${reason}`);
    this.name = 'OutboundRefused';
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * fetch, under the policy (outbound-policy.ts): the URL is checked first, and the addresses its name
 * resolves to are checked when the connection is made, so that a name pointing at a metadata
 * address (or re-pointed there after it was registered: DNS rebinding) is never connected to.
 * Redirects are the caller's choice; jose and discovery follow none.
 */
export function createOutboundFetch(policy: OutboundPolicy, resolve: typeof lookup = lookup): OutboundFetch {
  const agent = new Agent({
    connect: {
      lookup(hostname: string, options: LookupOptions, callback: LookupCallback) {
        resolve(hostname, { ...options, all: true }, (error, addresses) => {
          if (error) return callback(error, []);
          const allowed = addresses.filter(({ address }) => mayConnectTo(address, hostname, policy));
          if (allowed.length === 0)
            return callback(new OutboundRefused(`${hostname} resolves to an address the issuer does not fetch from`), []);
          if (options.all) return callback(null, allowed);
          return callback(null, allowed[0]!.address, allowed[0]!.family);
        });
      },
    },
  });
  return async function outboundFetch(url, init = {}) {
    const problem = outboundUrlProblem(url, policy);
    if (problem) throw new OutboundRefused(problem);
    const { origin, pathname } = new URL(url);
    // A client span, its W3C trace context sent along (a JWKS host or an upstream provider may trace too); the URL without its query.
    return inSpan(
      `${init.method ?? 'GET'}`,
      { 'http.request.method': init.method ?? 'GET', 'url.full': `${origin}${pathname}` },
      async (span) => {
        const headers: Record<string, string> = Object.fromEntries(new Headers(init.headers));
        propagation.inject(context.active(), headers);
        const response = (await undiciFetch(url, { ...init, headers, dispatcher: agent } as Parameters<
          typeof undiciFetch
        >[1])) as unknown as Response;
        span.setAttribute('http.response.status_code', response.status);
        return response;
      },
      SpanKind.CLIENT,
    );
  };
}
