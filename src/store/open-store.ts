/** Opens the job store the config names: the memory store, the SQLite file (the default), or PostgreSQL. */
import type { Config } from '../config.js';
import type { JobStore } from './job-store.js';
import { createMemoryStore } from './memory-store.js';
import { redactUrl } from './postgres-schema.js';
import { openPostgresStore } from './postgres-store.js';
import { openSqliteStore } from './sqlite-store.js';

type StoreConfig = Pick<Config, 'store' | 'durability' | 'jobRetention' | 'postgres'>;

/**
 * Throws `StoreOpenError` (naming the file, or the database without its password) when the store cannot be
 * opened. `onFenced`: a write of the PostgreSQL store changed nothing, because another instance owns the job now.
 */
export async function openStore(config: StoreConfig, onFenced?: (id: string) => void): Promise<JobStore> {
  const { store } = config;
  if (store.kind === 'memory') return createMemoryStore({ retention: config.jobRetention });
  if (store.kind === 'postgres') {
    return openPostgresStore({ url: store.url, retention: config.jobRetention, ...config.postgres, onFenced });
  }
  return openSqliteStore({ path: store.path, durability: config.durability, retention: config.jobRetention });
}

/** How the store appears in the log: `memory`, the SQLite file's path, or the database URL without its password. */
export function describeStore(config: Pick<Config, 'store'>): string {
  const { store } = config;
  if (store.kind === 'memory') return 'memory';
  return store.kind === 'sqlite' ? `sqlite:${store.path}` : redactUrl(store.url);
}
