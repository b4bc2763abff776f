import type { Sql } from 'postgres';

/** A postgres.js statement as the wrappers see it: awaitable, cancellable. */
export type RunningStatement = PromiseLike<unknown> & { cancel(): unknown };

/**
 * A postgres.js client (or transaction, or reserved connection) whose statements run through
 * `around` when they start. postgres.js statements are lazy: drizzle calls `.values()` and then
 * awaits, so the wrapper stays lazy too, and passes `cancel` on (db/deadline-guard.ts).
 */
export function wrapStatements(sql: Sql, around: (query: string, statement: RunningStatement) => Promise<unknown>): Sql {
  const unsafe = (query: string, parameters?: unknown[], options?: object) => {
    const statement = sql.unsafe(query, parameters as never, options);
    const lazy = {
      values() {
        void statement.values(); // marks the query for rows as arrays; it still starts only when awaited
        return lazy;
      },
      cancel: () => statement.cancel(),
      then<A, B>(onFulfilled?: (value: unknown) => A, onRejected?: (reason: unknown) => B) {
        return around(query, statement).then(onFulfilled, onRejected);
      },
    };
    return lazy;
  };
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property === 'unsafe') return unsafe;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}
