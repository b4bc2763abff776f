import { EventEmitter } from 'node:events';
import { RevocationTable, systemEpochSeconds, type Denylist, type EpochClock, type RevocationEntry } from './denylist.js';

/** The single-instance denylist: everything in this process. */
export function createMemoryDenylist(now: EpochClock = systemEpochSeconds): Denylist {
  const table = new RevocationTable(now);
  const additions = new EventEmitter();
  additions.setMaxListeners(0);

  const denylist: Denylist = {
    async add(added) {
      table.addAll(added);
      table.prune();
      additions.emit('added', added);
    },
    // Nothing can empty it but the end of the process, which ends its readers too.
    refill: (added) => denylist.add(added),
    isComplete: async () => true,
    isRevoked: async (jti) => table.hasToken(jti),
    refusal: async (token) => table.refusal(token),
    latestCutoff: (token) => table.latestCutoff(token),
    async mirror() {
      const local = new RevocationTable(now);
      const follow = (added: readonly RevocationEntry[]) => local.addAll(added);
      additions.on('added', follow);
      // Load what is there now; later additions arrive through the listener.
      local.addAll(table.live());
      return {
        has: (jti) => local.hasToken(jti),
        refusal: (token) => local.refusal(token),
        size: () => local.size(),
        staleness: () => 0,
        close: async () => {
          additions.off('added', follow);
        },
      };
    },
    async close() {
      additions.removeAllListeners();
    },
  };
  return denylist;
}
