import { SpanKind } from '@opentelemetry/api';
import type { Sql } from 'postgres';
import { inSpan } from '../tracing/spans.js';
import { wrapStatements } from './statement-wrapper.js';

/** The statement's first word (select, insert, with, …): its kind, never its values. */
const operationOf = (query: string) => /^\s*(\w+)/.exec(query)?.[1]?.toLowerCase() ?? 'query';

/**
 * A postgres.js client whose statements and transactions are spans (tracing/spans.ts), used when
 * tracing is on. The span holds the SQL text, which carries placeholders ($1), never parameters.
 */
export function tracedClient(client: Sql): Sql {
  const statementSpans = (sql: Sql) =>
    wrapStatements(sql, (query, statement) => {
      const operation = operationOf(query);
      return inSpan(
        `db ${operation}`,
        { 'db.system.name': 'postgresql', 'db.operation.name': operation, 'db.query.text': query },
        async () => statement,
        SpanKind.CLIENT,
      );
    });
  const traced = (sql: Sql): Sql =>
    new Proxy(statementSpans(sql), {
      get(target, property, receiver) {
        if (property === 'begin') {
          return (...args: unknown[]) => {
            const work = args.pop() as (tx: Sql) => Promise<unknown>;
            return inSpan('db transaction', { 'db.system.name': 'postgresql' }, () =>
              (sql.begin as (...a: unknown[]) => Promise<unknown>)(...args, (tx: Sql) => work(traced(tx))),
            );
          };
        }
        if (property === 'reserve') return async () => traced(await sql.reserve());
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
  return traced(client);
}
