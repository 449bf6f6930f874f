/**
 * Opening a PostgreSQL job store: the connection (retried until `connectTimeoutMs`), and the schema's forward
 * migrations, run under an advisory lock so that instances starting together migrate once.
 */
import pg from 'pg';
import { StoreOpenError } from '../errors.js';

/** A PG_SCHEMA: a plain lower-case identifier, so that it needs no quoting anywhere. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** How long to wait between two connection attempts while the database is out of reach, in ms. */
const CONNECT_RETRY_MS = 250;

/**
 * The schema's forward migrations, in `schema` (entry i takes the version from i to i + 1). Append, never
 * edit: a database records how far it got, and every instance that starts runs the rest.
 */
export const PG_MIGRATIONS: readonly ((schema: string) => string)[] = [
  // 1: one row per job, its record as JSON. `seq`: the submission order (list order, cursors). A job waiting
  // for a worker has `ready_lane` 0 (a due retry) or 1 (a new job) and `ready_seq`, the order it became ready
  // in: a claim takes the lowest pairs through the partial index. A claimed job has an `owner` (an instance)
  // until `lease_expires_at`; `attempt` fences writes (see postgres-store.ts). `finished_seq`: the order jobs
  // finished in, for retention.
  (schema) => `
    CREATE SEQUENCE ${schema}.ready_order;
    CREATE SEQUENCE ${schema}.finish_order;
    CREATE TABLE ${schema}.jobs (
      seq              bigserial PRIMARY KEY,
      id               text        NOT NULL UNIQUE,
      type             text        NOT NULL,
      state            text        NOT NULL,
      attempt          integer     NOT NULL DEFAULT 0,
      ready_lane       smallint,
      ready_seq        bigint,
      owner            text,
      lease_expires_at timestamptz,
      finished_seq     bigint,
      record           jsonb       NOT NULL
    );
    CREATE INDEX jobs_ready ON ${schema}.jobs (ready_lane, ready_seq) WHERE ready_lane IS NOT NULL;
    CREATE INDEX jobs_by_state ON ${schema}.jobs (state, seq);
    CREATE INDEX jobs_by_type ON ${schema}.jobs (type, seq);
    CREATE INDEX jobs_by_finish ON ${schema}.jobs (finished_seq) WHERE finished_seq IS NOT NULL;
    CREATE INDEX jobs_owned ON ${schema}.jobs (owner, lease_expires_at)
      WHERE state IN ('queued', 'running', 'backoff') AND ready_lane IS NULL;
  `,
  // 2: priorities and scheduled jobs. `priority` (−100..100) leads the claim order, so the ready index leads
  // with it; `run_at` is a scheduled job's due time in epoch ms (null in every other state, and while an
  // instance moves it to `queued`), found by the due index. Cron schedules: one row each, as JSON.
  (schema) => `
    ALTER TABLE ${schema}.jobs ADD COLUMN priority smallint NOT NULL DEFAULT 0;
    ALTER TABLE ${schema}.jobs ADD COLUMN run_at bigint;
    DROP INDEX ${schema}.jobs_ready;
    CREATE INDEX jobs_ready ON ${schema}.jobs (priority DESC, ready_lane, ready_seq) WHERE ready_lane IS NOT NULL;
    CREATE INDEX jobs_due ON ${schema}.jobs (run_at, seq) WHERE run_at IS NOT NULL;
    CREATE TABLE ${schema}.schedules (name text PRIMARY KEY, row jsonb NOT NULL);
  `,
  // 3: the number of jobs of each type in each state, kept by statement-level triggers, so that `/stats` and
  // each admission's count of waiting jobs read a few rows, not the table. Each connection adds its changes to
  // rows of its own (`shard`: its backend pid), so that concurrent writers never wait on one counter row;
  // `foldCountShards` (postgres-store.ts) adds them into shard 0 now and then. The sum over the shards is the
  // count. Seeded in the same transaction that creates the triggers: writers wait for it (the trigger's lock).
  (schema) => `
    CREATE TABLE ${schema}.job_counts (
      shard integer NOT NULL,
      type  text    NOT NULL,
      state text    NOT NULL,
      n     bigint  NOT NULL,
      PRIMARY KEY (shard, type, state)
    );
    CREATE FUNCTION ${schema}.count_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO ${schema}.job_counts AS c (shard, type, state, n)
        SELECT pg_backend_pid(), type, state, count(*) FROM new_rows GROUP BY type, state
        ON CONFLICT (shard, type, state) DO UPDATE SET n = c.n + excluded.n;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO ${schema}.job_counts AS c (shard, type, state, n)
        SELECT pg_backend_pid(), type, state, -count(*) FROM old_rows GROUP BY type, state
        ON CONFLICT (shard, type, state) DO UPDATE SET n = c.n + excluded.n;
      ELSE
        INSERT INTO ${schema}.job_counts AS c (shard, type, state, n)
        SELECT pg_backend_pid(), type, state, sum(delta) FROM (
          SELECT type, state, 1 AS delta FROM new_rows
          UNION ALL
          SELECT type, state, -1 FROM old_rows
        ) AS changes GROUP BY type, state HAVING sum(delta) <> 0
        ON CONFLICT (shard, type, state) DO UPDATE SET n = c.n + excluded.n;
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER jobs_counted_insert AFTER INSERT ON ${schema}.jobs
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.count_jobs();
    CREATE TRIGGER jobs_counted_update AFTER UPDATE ON ${schema}.jobs
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.count_jobs();
    CREATE TRIGGER jobs_counted_delete AFTER DELETE ON ${schema}.jobs
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${schema}.count_jobs();
    INSERT INTO ${schema}.job_counts (shard, type, state, n)
    SELECT 0, type, state, count(*) FROM ${schema}.jobs GROUP BY type, state;
  `,
  // 4: admission in one round trip. A batch of submissions (the records as one JSON array: an array of jsonb
  // would escape each one) is decided under the admission lock: a known id is
  // a duplicate (of the stored job, or of the batch's earlier admitted one); a queued job is refused when
  // `waiting_limits` jobs wait (queued or backoff) already; the admitted are inserted, and announced. A
  // function, not one statement: each of its statements reads what committed before the lock was granted,
  // where one statement would read from a snapshot taken before it waited for the lock.
  (schema) => `
    CREATE FUNCTION ${schema}.admit(
      ids text[], types text[], states text[], records jsonb, priorities smallint[], run_ats bigint[],
      waiting_limits bigint[], channel text, announcer text
    ) RETURNS TABLE (outcome text, existing jsonb) LANGUAGE plpgsql AS $$
    DECLARE
      waiting bigint;
      stored jsonb[];
      first_of integer[];
      size integer := coalesce(array_length(ids, 1), 0);
      -- Filled in place: an element assigned to an empty array would set its lower bound instead.
      outcomes text[] := array_fill(NULL::text, ARRAY[size]);
      existings jsonb[] := array_fill(NULL::jsonb, ARRAY[size]);
      ready jsonb;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtext('xstate-job-service:${schema}:admission'));
      SELECT coalesce(sum(n), 0) INTO waiting FROM ${schema}.job_counts WHERE state IN ('queued', 'backoff');
      -- For each submission: the stored record with its id, and the place of the first submission of its id.
      SELECT array_agg(j.record ORDER BY b.ord), array_agg(b.first ORDER BY b.ord) INTO stored, first_of
      FROM (SELECT id, ord, min(ord) OVER (PARTITION BY id) AS first
            FROM unnest(ids) WITH ORDINALITY AS u(id, ord)) AS b
      LEFT JOIN ${schema}.jobs j ON j.id = b.id;
      FOR i IN 1 .. size LOOP
        IF stored[i] IS NOT NULL THEN
          outcomes[i] := 'duplicate'; existings[i] := stored[i];
        ELSIF first_of[i] < i AND outcomes[first_of[i]] = 'admitted' THEN
          outcomes[i] := 'duplicate'; existings[i] := records -> (first_of[i] - 1);
        ELSIF states[i] = 'queued' AND waiting >= waiting_limits[i] THEN
          outcomes[i] := 'full';
        ELSE
          outcomes[i] := 'admitted';
          IF states[i] = 'queued' THEN waiting := waiting + 1; END IF;
        END IF;
      END LOOP;
      -- A queued job waits in the lane of new jobs; a scheduled one in the due index until its time.
      INSERT INTO ${schema}.jobs (id, type, state, attempt, record, priority, run_at, ready_lane, ready_seq)
      SELECT v.id, v.type, v.state, 0, records -> (v.ord - 1)::int, v.priority, v.run_at,
             CASE WHEN v.state = 'queued' THEN 1 END,
             CASE WHEN v.state = 'queued' THEN nextval('${schema}.ready_order') END
      FROM unnest(ids, types, states, priorities, run_ats, outcomes)
           WITH ORDINALITY AS v(id, type, state, priority, run_at, outcome, ord)
      WHERE v.outcome = 'admitted' ORDER BY v.ord;
      SELECT jsonb_object_agg(type, n) INTO ready FROM (
        SELECT v.type, count(*) AS n FROM unnest(types, states, outcomes) AS v(type, state, outcome)
        WHERE v.outcome = 'admitted' AND v.state = 'queued' GROUP BY v.type
      ) AS admitted;
      IF ready IS NOT NULL THEN
        PERFORM pg_notify(channel, jsonb_build_object('kind', 'ready', 'from', announcer, 'types', ready)::text);
      END IF;
      RETURN QUERY SELECT o.outcome, o.existing FROM unnest(outcomes, existings) AS o(outcome, existing);
    END $$;
  `,
  // 5: the cluster's settings, by name: `dispatch_paused` (an operator's hold on dispatch, on every instance).
  (schema) => `
    CREATE TABLE ${schema}.settings (name text PRIMARY KEY, value jsonb NOT NULL);
  `,
  // 6: the submissions of each client in its current one-second window (RATE_LIMIT_PER_S), counted across the
  // cluster; the columns are the ones rate-limiter-flexible's RateLimiterPostgres reads and writes.
  (schema) => `
    CREATE TABLE ${schema}.rate_limits (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint);
  `,
  // 7: a claimed job counts as running. Its attempt starts once the claim is committed, while its row still
  // says `queued` until the `running` record is written: counted as queued meanwhile, it took a place of
  // QUEUE_SIZE, and a submission on another instance could be refused with room to spare. The table is locked
  // while the counters are counted again under the new rule, so that no writer counts under the old one.
  (schema) => `
    LOCK TABLE ${schema}.jobs IN SHARE ROW EXCLUSIVE MODE;
    CREATE FUNCTION ${schema}.counted_state(state text, ready_lane smallint, owner text) RETURNS text
      LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN state = 'queued' AND ready_lane IS NULL AND owner IS NOT NULL THEN 'running' ELSE state END
      $$;
    CREATE OR REPLACE FUNCTION ${schema}.count_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO ${schema}.job_counts AS c (shard, type, state, n)
        SELECT pg_backend_pid(), type, ${schema}.counted_state(state, ready_lane, owner) AS counted, count(*)
        FROM new_rows GROUP BY type, counted
        ON CONFLICT (shard, type, state) DO UPDATE SET n = c.n + excluded.n;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO ${schema}.job_counts AS c (shard, type, state, n)
        SELECT pg_backend_pid(), type, ${schema}.counted_state(state, ready_lane, owner) AS counted, -count(*)
        FROM old_rows GROUP BY type, counted
        ON CONFLICT (shard, type, state) DO UPDATE SET n = c.n + excluded.n;
      ELSE
        INSERT INTO ${schema}.job_counts AS c (shard, type, state, n)
        SELECT pg_backend_pid(), type, counted, sum(delta) FROM (
          SELECT type, ${schema}.counted_state(state, ready_lane, owner) AS counted, 1 AS delta FROM new_rows
          UNION ALL
          SELECT type, ${schema}.counted_state(state, ready_lane, owner), -1 FROM old_rows
        ) AS changes GROUP BY type, counted HAVING sum(delta) <> 0
        ON CONFLICT (shard, type, state) DO UPDATE SET n = c.n + excluded.n;
      END IF;
      RETURN NULL;
    END $$;
    DELETE FROM ${schema}.job_counts;
    INSERT INTO ${schema}.job_counts (shard, type, state, n)
    SELECT 0, type, ${schema}.counted_state(state, ready_lane, owner) AS counted, count(*) FROM ${schema}.jobs
    GROUP BY type, counted;
  `,
];

/** The URL as the log and errors show it: no password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** Waits until the database answers, for up to `timeoutMs`; throws StoreOpenError naming the host. */
export async function waitForDatabase(pool: pg.Pool, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await pool.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() >= deadline) {
        const host = new URL(url).host || 'localhost';
        throw new StoreOpenError(
          redactUrl(url),
          `the database at ${host} did not answer within ${timeoutMs} ms (PG_CONNECT_TIMEOUT_MS): ${messageOf(error)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
    }
  }
}

/**
 * Creates the schema and runs the migrations it lacks, in one transaction under an advisory lock on the
 * schema's name: a second instance waits for the first, then finds nothing left to do. A database at a newer
 * version than this build knows is refused (StoreOpenError).
 */
export async function migrate(pool: pg.Pool, schema: string, url: string): Promise<void> {
  try {
    await inTransaction(pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`xstate-job-service:${schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_version (version integer NOT NULL)`);
      const found = await client.query<{ version: number }>(`SELECT version FROM ${schema}.schema_version`);
      const version = found.rows[0]?.version ?? 0;
      if (found.rows.length === 0) await client.query(`INSERT INTO ${schema}.schema_version VALUES (0)`);
      if (version > PG_MIGRATIONS.length) {
        throw new StoreOpenError(
          redactUrl(url),
          `schema ${schema} is at version ${version}, newer than this build knows (${PG_MIGRATIONS.length}); run a newer build.`,
        );
      }
      for (let next = version; next < PG_MIGRATIONS.length; next++) await client.query(PG_MIGRATIONS[next]!(schema));
      await client.query(`UPDATE ${schema}.schema_version SET version = $1`, [PG_MIGRATIONS.length]);
    });
  } catch (error) {
    if (error instanceof StoreOpenError) throw error;
    throw new StoreOpenError(redactUrl(url), `migrating schema ${schema} failed: ${messageOf(error)}`);
  }
}

/**
 * Runs `work` on a connection of the pool in a transaction, committed when it resolves and rolled back when it
 * throws. A connection that breaks between two statements (the database restarted) emits an error that the
 * next statement meets anyway: it is listened to here, so that it cannot end the process, and the connection
 * is dropped from the pool rather than reused.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const ignore = () => {};
  client.on('error', ignore);
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = error instanceof Error ? error : new Error(String(error));
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.off('error', ignore);
    client.release(broken);
  }
}

export const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
