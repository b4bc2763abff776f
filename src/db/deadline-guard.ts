import type { Sql } from 'postgres';
import { wrapStatements } from './statement-wrapper.js';
import { currentRequest, ensureRequestLive, untilRequestEnds, type RequestLife } from '../request-deadline.js';

/**
 * Wraps a postgres.js client so that database work done for a request ends with the request
 * (see request-deadline.ts): the request answers 503 at its deadline instead of waiting on a
 * database that does not answer, and whatever it sent commits only while the request is live.
 *
 * - A write outside a transaction runs in one (BEGIN and the statement pipelined, then COMMIT: one
 *   round trip more than alone), and a transaction commits
 *   only if the request is still live after its last statement: a statement held up by the network
 *   and delivered after the deadline is rolled back, never committed behind a client's back (which,
 *   for a refresh, would spend a token the client has already retried with).
 * - A transaction is not begun for a request that has already ended (its client went away).
 * - A COMMIT already sent when the request ends is waited for (request-deadline.ts), so the answer
 *   says what happened: a 503 means nothing was committed.
 * - A statement still running when the request ends is cancelled (PostgreSQL's cancel request), so
 *   one waiting on a lock gives its connection back at once instead of whenever the lock goes, and
 *   its transaction rolls back.
 * - Reads just stop being waited for.
 *
 * Drizzle calls `unsafe` (then `.values()` or `await`) and `begin`; everything else passes through.
 */
export function endWithRequest(client: Sql): Sql {
  const begin = async (...args: unknown[]) => {
    const request = currentRequest();
    const work = args.pop() as (tx: Sql) => Promise<unknown>;
    if (!request) return (client.begin as (...a: unknown[]) => Promise<unknown>)(...args, work);
    ensureRequestLive(request); // a client that has gone away gets no transaction begun
    let committing = false;
    const guarded = async (tx: Sql) => {
      ensureRequestLive(request);
      const result = await work(cancelledAtEnd(tx, request));
      ensureRequestLive(request); // the last moment before COMMIT
      committing = true;
      return result;
    };
    return untilRequestEnds(request, (client.begin as (...a: unknown[]) => Promise<unknown>)(...args, guarded), () => committing);
  };

  const unsafe = (query: string, parameters?: unknown[], options?: object) => {
    const request = currentRequest();
    if (!request) return client.unsafe(query, parameters as never, options);
    let asValues = false;
    let settled: Promise<unknown> | undefined;
    const run = (sql: Sql) => {
      const statement = sql.unsafe(query, parameters as never, options);
      return asValues ? statement.values() : statement;
    };
    const commit = { sent: false };
    const settle = () =>
      untilRequestEnds(request, READ.test(query) ? Promise.resolve(run(client)) : writeAlone(request, run, commit), () => commit.sent);
    // The lazy query object drizzle expects: `.values()` first, then awaited.
    const pending = {
      values() {
        asValues = true;
        return pending;
      },
      then<A, B>(onFulfilled?: (value: unknown) => A, onRejected?: (reason: unknown) => B) {
        settled ??= settle();
        return settled.then(onFulfilled, onRejected);
      },
    };
    return pending;
  };

  /** A write outside a transaction: BEGIN and the statement go out together, then COMMIT if live. */
  const writeAlone = async (request: RequestLife, run: (sql: Sql) => PromiseLike<unknown>, commit: { sent: boolean }) => {
    ensureRequestLive(request); // a client that has gone away gets no transaction begun
    const reserved = await client.reserve();
    try {
      const [, result] = await Promise.all([reserved`begin`, run(cancelledAtEnd(reserved, request))]);
      ensureRequestLive(request);
      commit.sent = true;
      await reserved`commit`;
      return result;
    } catch (error) {
      await reserved`rollback`.catch(() => {});
      throw error;
    } finally {
      reserved.release();
    }
  };

  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'begin') return begin;
      if (property === 'unsafe') return unsafe;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

/** A connection (or transaction) whose running statement is cancelled when the request ends. */
const cancelledAtEnd = (sql: Sql, request: RequestLife): Sql =>
  wrapStatements(sql, async (_query, statement) => {
    const disarm = request.onEnd(() => void statement.cancel());
    try {
      return await statement;
    } finally {
      disarm();
    }
  });

/** Statements that change nothing: waiting for them can simply stop. */
const READ = /^\s*select\b/i;
