import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type TextMapGetter } from '@opentelemetry/api';
import type { Context, MiddlewareHandler } from 'hono';
import { tracer } from '../../tracing/spans.js';
import type { AppEnv } from '../app-env.js';

/** W3C trace context from the request's `traceparent` and `tracestate` headers. */
const fromHeaders: TextMapGetter<Context<AppEnv>> = {
  get: (c, key) => c.req.header(key),
  keys: () => ['traceparent', 'tracestate'],
};

/**
 * One server span per request, a child of the caller's span when it sends `traceparent` (W3C Trace
 * Context), the parent of every span the request makes. Named by method and route, never by the
 * URL: no query string, no path parameter values.
 */
export function requestTracing(): MiddlewareHandler<AppEnv> {
  return async function traceRequest(c, next) {
    const parent = propagation.extract(ROOT_CONTEXT, c, fromHeaders);
    const span = tracer.startSpan(
      c.req.method,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': c.req.method, 'url.scheme': new URL(c.req.url).protocol.slice(0, -1) },
      },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const route = c.req.routePath;
      span.updateName(`${c.req.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': c.res.status });
      if (c.res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
