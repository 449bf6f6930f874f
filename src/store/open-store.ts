/** Opens the job store the config names: the memory store, or the SQLite file (the default). */
import type { Config } from '../config.js';
import type { JobStore } from './job-store.js';
import { createMemoryStore } from './memory-store.js';
import { openSqliteStore } from './sqlite-store.js';

/** Throws `StoreOpenError` (naming the file) when a SQLite store cannot be opened. */
export function openStore(config: Pick<Config, 'store' | 'durability' | 'jobRetention'>): JobStore {
  if (config.store.kind === 'memory') return createMemoryStore({ retention: config.jobRetention });
  return openSqliteStore({ path: config.store.path, durability: config.durability, retention: config.jobRetention });
}

/** How the store appears in the log: `memory`, or the SQLite file's path. */
export function describeStore(config: Pick<Config, 'store'>): string {
  return config.store.kind === 'memory' ? 'memory' : `sqlite:${config.store.path}`;
}
