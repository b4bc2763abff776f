import { readFileSync } from 'node:fs';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import { loadConfig, type Config } from './config.js';
import { metricsRoutes } from './http/routes/metrics-routes.js';
import { createLogger } from './logger.js';
import { openRuntime, type Runtime } from './runtime.js';
import { describeStartupFailure } from './startup-failure.js';
import { startTracing } from './tracing/tracing.js';

/** This package's version, for the traces' `service.version`. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * The only module that touches `process`: reads the environment, opens the runtime (runtime.ts),
 * serves until SIGTERM or SIGINT, then drains and closes everything in reverse order.
 */

/** How long in-flight requests get to finish after SIGTERM before the process gives up. */
const DRAIN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const stopTracing = config.tracing ? startTracing(config.tracing, packageVersion()) : undefined;
  const logger = createLogger(config.logLevel, undefined, { traceIds: stopTracing !== undefined });
  settings = config;
  const runtime = await openRuntime(config, logger);
  const servers = await listen(config, runtime, logger).catch(async (error: unknown) => {
    await runtime.close();
    throw error;
  });
  const signal = await firstSignal(['SIGTERM', 'SIGINT']);
  await drain(signal, config, runtime, servers, logger);
  await runtime.close();
  // The last spans (the shutdown's requests) go out before the process does.
  await stopTracing?.().catch((error: unknown) => logger.warn({ err: error }, 'could not send the last traces'));
  logger.info('stopped');
  process.exit(0);
}

/** Listens on PORT (and METRICS_PORT); rejects when a port cannot be had (in use, not allowed). */
async function listen(config: Config, runtime: Runtime, logger: Logger): Promise<ServerType[]> {
  const app = createApp(runtime.app);
  const started = (fetch: Hono['fetch'], port: number, onListening: (port: number) => void) =>
    new Promise<ServerType>((resolve, reject) => {
      const server = serve({ fetch, port, hostname: config.host }, (info) => {
        server.off('error', reject);
        onListening(info.port);
        resolve(server);
      });
      server.once('error', (error: Error) => reject(Object.assign(error, { port })));
    });
  const servers = [
    await started(app.fetch, config.port, (port) =>
      logger.info({ port, host: config.host, issuer: config.issuer, database: runtime.database.kind }, 'listening'),
    ),
  ];
  // Metrics on a port of their own, so that they need not be public.
  if (config.metricsPort !== undefined) {
    const metricsApp = new Hono().route('/', metricsRoutes(runtime.metrics));
    servers.push(await started(metricsApp.fetch, config.metricsPort, (port) => logger.info({ port }, 'metrics listening')));
  }
  return servers;
}

/** Resolves at the first of these signals; later ones are ignored while the process drains. */
function firstSignal(signals: NodeJS.Signals[]): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const signal of signals) process.on(signal, () => resolve(signal));
  });
}

/**
 * Readiness turns 503 first; after SHUTDOWN_DELAY_SECONDS (time for load balancers to notice) the
 * listeners close and in-flight requests get DRAIN_TIMEOUT_MS to finish, else the process exits 1.
 */
async function drain(signal: string, config: Config, runtime: Runtime, servers: ServerType[], logger: Logger): Promise<void> {
  runtime.app.lifecycle.draining = true;
  logger.info({ signal, delaySeconds: config.shutdownDelaySeconds }, 'shutting down: readiness is now 503');
  setTimeout(
    () => {
      logger.error('in-flight requests did not finish in time; exiting');
      process.exit(1);
    },
    config.shutdownDelaySeconds * 1000 + DRAIN_TIMEOUT_MS,
  ).unref();
  await new Promise((resolve) => setTimeout(resolve, config.shutdownDelaySeconds * 1000));
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Keep-alive connections with no request in flight would hold close() open.
          if ('closeIdleConnections' in server) server.closeIdleConnections();
        }),
    ),
  );
}

/** The settings, once read: a failure to start names what it concerns (never a password). */
let settings: Config | undefined;

/** One plain line for what an operator can fix (startup-failure.ts); the unforeseen with its stack. */
function reportStartupFailure(error: unknown): never {
  const port = (error as { port?: number }).port ?? settings?.port;
  const lines = describeStartupFailure(error, { databaseUrl: settings?.databaseUrl, port, host: settings?.host });
  if (lines) {
    const [first, ...rest] = lines;
    console.error(`token-issuer: ${first}`);
    for (const line of rest) console.error(line);
  } else {
    createLogger('info').fatal({ err: error }, 'could not start');
  }
  process.exit(1);
}

main().catch((error: unknown) => reportStartupFailure(error));
