import type { Sql } from 'postgres';
import { wrapStatements } from './statement-wrapper.js';

export interface CountedClient {
  client: Sql;
  /** Statements, transactions and reserved connections in progress now: above the pool's size, the rest wait for a connection. */
  inUse(): number;
}

/**
 * Counts what the pool is asked for, for the metric behind the "pool exhausted" alert (postgres.js
 * keeps its own counts private): a statement outside a transaction while it runs, a transaction
 * from BEGIN to its end, a reserved connection until it is released.
 */
export function countedClient(client: Sql): CountedClient {
  let inUse = 0;
  const during = async <T>(work: () => PromiseLike<T>): Promise<T> => {
    inUse += 1;
    try {
      return await work();
    } finally {
      inUse -= 1;
    }
  };
  const reserve = async () => {
    inUse += 1;
    const reserved = await client.reserve().catch((error: unknown) => {
      inUse -= 1;
      throw error;
    });
    let released = false;
    return new Proxy(reserved, {
      get(target, property, receiver) {
        if (property !== 'release') return Reflect.get(target, property, receiver) as unknown;
        return () => {
          if (!released) inUse -= 1;
          released = true;
          target.release();
        };
      },
    });
  };
  const counted = new Proxy(
    wrapStatements(client, (_query, statement) => during(() => statement)),
    {
      get(target, property, receiver) {
        if (property === 'begin')
          return (...args: unknown[]) => during(() => (client.begin as (...a: unknown[]) => Promise<unknown>)(...args));
        if (property === 'reserve') return reserve;
        return Reflect.get(target, property, receiver) as unknown;
      },
    },
  );
  return { client: counted, inUse: () => inUse };
}
