import { SpanKind } from '@opentelemetry/api';
import type { Sql } from 'postgres';
import { inSpan } from '../tracing/spans.js';

/** The statement's first word (select, insert, with, …): its kind, never its values. */
const operationOf = (query: string) => /^\s*(\w+)/.exec(query)?.[1]?.toLowerCase() ?? 'query';

/**
 * A postgres.js client whose statements and transactions are spans (tracing/spans.ts), used when
 * tracing is on. The span holds the SQL text, which carries placeholders ($1), never parameters.
 * Statements stay lazy (drizzle calls `.values()` before awaiting), and `cancel` reaches the
 * statement (db/deadline-guard.ts).
 */
export function tracedClient(client: Sql): Sql {
  const unsafe = (sql: Sql) => (query: string, parameters?: unknown[], options?: object) => {
    const statement = sql.unsafe(query, parameters as never, options);
    const operation = operationOf(query);
    const lazy = {
      values() {
        void statement.values(); // marks the query for rows as arrays; it still starts only when awaited
        return lazy;
      },
      cancel: () => statement.cancel(),
      then<A, B>(onFulfilled?: (value: unknown) => A, onRejected?: (reason: unknown) => B) {
        return inSpan(
          `db ${operation}`,
          { 'db.system.name': 'postgresql', 'db.operation.name': operation, 'db.query.text': query },
          async () => statement as Promise<unknown>,
          SpanKind.CLIENT,
        ).then(onFulfilled, onRejected);
      },
    };
    return lazy;
  };
  const traced = (sql: Sql): Sql =>
    new Proxy(sql, {
      get(target, property, receiver) {
        if (property === 'unsafe') return unsafe(target);
        if (property === 'begin') {
          return (...args: unknown[]) => {
            const work = args.pop() as (tx: Sql) => Promise<unknown>;
            return inSpan('db transaction', { 'db.system.name': 'postgresql' }, () =>
              (target.begin as (...a: unknown[]) => Promise<unknown>)(...args, (tx: Sql) => work(traced(tx))),
            );
          };
        }
        if (property === 'reserve') return async () => traced(await target.reserve());
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
  return traced(client);
}
