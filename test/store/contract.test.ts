import { createMemoryStore } from '../../src/store/memory-store.js';
import type { PostgresStore } from '../../src/store/postgres-store.js';
import { storeContract } from './contract.js';
import { postgresStores } from './postgres-support.js';
import { nextTick, tempFiles } from './support.js';

storeContract('memory', {
  open: (retention) => Promise.resolve(createMemoryStore({ retention })),
  settle: () => Promise.resolve(),
  cleanup: () => Promise.resolve(),
});

const files = tempFiles();
storeContract('sqlite', {
  open: (retention) => Promise.resolve(files.open({ path: files.path(), retention })),
  // The commit, then retention's batches: each runs in a tick of its own.
  async settle(store) {
    await store.flush();
    for (let i = 0; i < 3; i++) await nextTick();
  },
  cleanup: () => files.cleanup(),
});

const databases = postgresStores();
storeContract('postgres', {
  open: (retention) => databases.open({ retention }),
  // The commit, then retention, which a running store does after commits, at most once a second.
  async settle(store) {
    await store.flush();
    await (store as PostgresStore).retain();
  },
  cleanup: () => databases.cleanup(),
});
