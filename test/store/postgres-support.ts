/**
 * PostgreSQL stores for tests: each opened in a schema of its own on the test database, and dropped by
 * `cleanup()`. The database is TEST_DATABASE_URL (default: the local `test` database); when it cannot be
 * reached the tests fail rather than skip.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SCHEMA_NAME } from '../../src/store/postgres-schema.js';
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres-store.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name no other test uses. */
export const freshSchema = () => `test_${randomBytes(5).toString('hex')}`;

export function postgresStores() {
  const stores: PostgresStore[] = [];
  const schemas = new Set<string>();
  return {
    async open(options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
      const schema = options.schema ?? freshSchema();
      // Only a name the store accepts is ever dropped: a test of a bad name must not run it as SQL.
      if (SCHEMA_NAME.test(schema)) schemas.add(schema);
      const store = await openPostgresStore({
        url: TEST_DATABASE_URL,
        schema,
        poolSize: 4,
        retention: 10_000,
        leaseMs: 30_000,
        pollMs: 1000,
        connectTimeoutMs: 2000,
        ...options,
      });
      stores.push(store);
      return store;
    },
    async cleanup() {
      for (const store of stores.splice(0)) await store.close().catch(() => {});
      await dropSchemas([...schemas]);
      schemas.clear();
    },
  };
}

export async function dropSchemas(names: string[]) {
  if (names.length === 0) return;
  await withTestClient(async (client) => {
    for (const name of names) await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
  });
}

/** Runs `work` on a connection of its own to the test database, closed afterwards. */
export async function withTestClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
