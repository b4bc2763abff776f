import { EventEmitter } from 'node:events';
import { ExpiringSet, systemEpochSeconds, type Denylist, type DenylistEntry, type EpochClock } from './denylist.js';

/** The single-instance denylist: everything in this process. */
export function createMemoryDenylist(now: EpochClock = systemEpochSeconds): Denylist {
  const entries = new ExpiringSet(now);
  const additions = new EventEmitter();
  additions.setMaxListeners(0);

  const denylist: Denylist = {
    async add(added) {
      entries.addAll(added);
      entries.prune();
      additions.emit('added', added);
    },
    // Nothing can empty it but the end of the process, which ends its readers too.
    refill: (added) => denylist.add(added),
    isComplete: async () => true,
    async isRevoked(jti) {
      return entries.has(jti);
    },
    async mirror() {
      const local = new ExpiringSet(now);
      const follow = (added: readonly DenylistEntry[]) => local.addAll(added);
      additions.on('added', follow);
      // Load what is there now; later additions arrive through the listener.
      local.addAll(entries.live());
      return {
        has: (jti) => local.has(jti),
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
