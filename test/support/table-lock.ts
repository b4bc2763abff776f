import postgres from 'postgres';

export interface HeldTableLock {
  /** Backends of this database waiting on a lock now. */
  waitingOnLocks(): Promise<number>;
  /** Ends the holding transaction and its connections. */
  release(): Promise<void>;
}

/**
 * A table locked by the test in a transaction of its own, as a long report or a migration would
 * hold it, until `release`: a database made slow rather than cut.
 */
export async function holdTableLock(databaseUrl: string, table: string, mode: 'share' | 'exclusive'): Promise<HeldTableLock> {
  // Two connections: one holds the lock, the other can still look at pg_stat_activity.
  const holder = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  let finish!: () => void;
  const held = new Promise<void>((resolve) => (finish = resolve));
  await new Promise<void>((locked) => {
    void holder.begin(async (tx) => {
      await tx.unsafe(`lock table ${table} in ${mode} mode`);
      locked();
      await held;
    });
  });
  return {
    waitingOnLocks: async () =>
      (await holder`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)[0]!
        .n as number,
    async release() {
      finish();
      await holder.end();
    },
  };
}
