import { Hono, type MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Metrics } from '../../metrics/metrics.js';
import type { AppEnv } from '../app-env.js';

/** Times every request, labelled by the route pattern (never the raw path: bounded cardinality). */
export function measureRequests(metrics: Metrics): MiddlewareHandler<AppEnv> {
  // One labelled child per (method, route, status), looked up once: prom-client hashes the labels
  // on every call otherwise. Routes are patterns, so the map stays small.
  const series = new Map<string, { observe(seconds: number): void }>();
  return async function measure(c, next) {
    const started = performance.now();
    await next();
    const route = matchedRoutes(c).findLast((match) => match.method !== 'ALL')?.path ?? 'unmatched';
    const status = String(c.res.status);
    const key = `${c.req.method} ${route} ${status}`;
    let child = series.get(key);
    if (!child) {
      child = metrics.httpRequests.labels({ method: c.req.method, route, status });
      series.set(key, child);
    }
    child.observe((performance.now() - started) / 1000);
  };
}

/** GET /metrics in the Prometheus text format. */
export function metricsRoutes(metrics: Metrics): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get('/metrics', async function scrape(c) {
    return c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType });
  });
  return routes;
}
