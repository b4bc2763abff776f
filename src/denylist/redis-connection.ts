import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { Cluster, Redis, type Command, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisTarget } from '../config.js';
import type { RedisClient } from '@token-issuer/verifier';
import { tracer } from '../tracing/spans.js';

/** Connections being closed on purpose: their closing is no outage. */
const closing = new WeakSet<RedisClient>();

/** Closes a connection made by connectRedis, without reporting it as lost. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  closing.add(redis);
  await redis.quit().catch(() => redis.disconnect());
}

/**
 * One Redis connection that fails fast while Redis is away (no offline queue), so callers and
 * readiness see the outage at once instead of hanging, and reconnects on its own. `onReady` runs
 * each time the connection becomes usable: at first and after every outage, however short.
 */
export function connectRedis(target: RedisTarget, logger: Logger, onReady: () => void = () => {}): RedisClient {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  };
  // Behind Sentinel, ioredis asks the sentinels for the current primary and follows failovers; on a
  // Cluster it learns the slots from the nodes given and follows their moves. Every key of the
  // issuer is a single key per command, so no command crosses slots.
  const redis: RedisClient =
    'url' in target
      ? new Redis(target.url, options)
      : 'sentinels' in target
        ? new Redis({ ...options, sentinels: target.sentinels, name: target.name })
        : new Cluster(target.clusterNodes, {
            enableOfflineQueue: false,
            clusterRetryStrategy: options.retryStrategy,
            redisOptions: { maxRetriesPerRequest: 1, connectTimeout: options.connectTimeout },
          });
  let healthy = false;
  let reported = false;
  const lost = (reason: string) => {
    // Logged once per outage, not on every reconnect attempt.
    if (!reported) logger.warn({ reason }, 'redis unavailable; reconnecting');
    reported = true;
    healthy = false;
  };
  redis.on('ready', () => {
    if (reported) logger.info('redis connection restored');
    healthy = true;
    reported = false;
    onReady();
  });
  redis.on('close', () => {
    if (healthy && !closing.has(redis)) lost('connection closed');
  });
  redis.on('error', (error: Error) => lost(error.message));
  return redis;
}

/** Where a Redis target is, for a message: host and port, never a password. */
export function describeRedisTarget(target: RedisTarget): string {
  if ('url' in target) {
    const url = new URL(target.url);
    return `${url.hostname}:${url.port || '6379'}`;
  }
  const nodes = ('sentinels' in target ? target.sentinels : target.clusterNodes).map(({ host, port }) => `${host}:${port}`).join(',');
  return 'sentinels' in target ? `the sentinels ${nodes} (${target.name})` : `the cluster nodes ${nodes}`;
}

/**
 * Resolves once the connection is ready; rejects with the last error after `timeoutMs`. At start, a
 * Redis that does not answer is far more often a wrong setting than an outage: the server says so
 * and stops, rather than run on and answer 503 to every revocation.
 */
export function untilReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError = 'no answer';
    const onError = (error: Error) => (lastError = error.message || error.name);
    const timer = setTimeout(() => {
      redis.off('error', onError);
      reject(new Error(lastError));
    }, timeoutMs);
    redis.on('error', onError);
    redis.once('ready', () => {
      clearTimeout(timer);
      redis.off('error', onError);
      resolve();
    });
  });
}

/**
 * Every command this client sends as a client span named by the command (`redis GET`), its
 * arguments left out (keys hold token ids and client addresses). Used when tracing is on.
 */
export function traceRedisCommands(redis: Redis | Cluster): void {
  const send = redis.sendCommand.bind(redis) as (command: Command, ...rest: unknown[]) => unknown;
  redis.sendCommand = ((command: Command, ...rest: unknown[]) => {
    const span = tracer.startSpan(`redis ${command.name.toUpperCase()}`, {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system.name': 'redis', 'db.operation.name': command.name.toUpperCase() },
    });
    command.promise.then(
      () => span.end(),
      (error: unknown) => {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
        span.end();
      },
    );
    return send(command, ...rest);
  }) as typeof redis.sendCommand;
}
