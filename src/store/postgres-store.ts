/**
 * The shared job store: PostgreSQL (`STORE=postgres://…`), for any number of instances on one database.
 *
 * Rows: one per job in `<PG_SCHEMA>.jobs` (postgres-schema.ts), its record as JSON. A job waiting for a worker
 * has a ready lane and a place in it, as in the SQLite store; a claim takes the lowest places with
 * `FOR UPDATE SKIP LOCKED`, so two instances never claim one job, and neither waits for the other's locks.
 *
 * Ownership: a claimed job gets this instance as its `owner`, until `lease_expires_at` (`leaseMs`). The owner
 * renews the leases of all its running and backoff jobs in one statement, every third of a lease. When an
 * instance dies its leases run out, and any other takes the jobs over (`takeOver`): a running job's attempt
 * was interrupted, a backoff job re-arms its delay, as at a restart. A graceful close releases the leases at
 * once (no owner), so nothing waits for them to run out.
 *
 * Fencing: every write of a job's record is conditional: the row has no owner or this instance as owner (the
 * write of an attempt, this instance only), and its attempt number is not newer than the record's. An instance
 * that paused longer than its lease, and whose job was taken over since, changes nothing with its late write;
 * `onFenced` hears of it (a warn, a metric).
 *
 * Attempts: a claim marks the attempt it begins (`begun`), in the same statement, so that an instance that dies
 * before the job's `running` record is written still has the attempt counted, as interrupted, by the instance
 * that takes the job over.
 *
 * Writes: `save` buffers the latest record of each job, and one statement per tick (an upsert of every
 * buffered record) writes them, in save order, so that ready places follow the order jobs became ready.
 * Reads see the buffer: `get` first, and `claim`, `list`, `counts` and `unfinished` commit it before they ask.
 * A started job's `running` record (a start) is the exception: it waits up to START_WRITE_DELAY_MS, and
 * neither the commits of other writes nor a claim take it, so that an attempt that ends sooner is written once.
 *
 * Admission (`admit`): each tick's submissions go in one call of the schema's `admit` function, which decides
 * them under an advisory lock (the number of waiting jobs, the ids taken), inserts and notifies, so concurrent
 * submissions on several instances never admit one job over the limit nor one id twice.
 *
 * Counts: statement-level triggers keep the number of jobs per type and state in `job_counts` (migration 3),
 * which `/stats`, admission and retention read instead of the table.
 *
 * Wake-ups: a commit that made jobs ready, and an admission, `NOTIFY` the other instances, which `LISTEN` on
 * a connection of their own and claim at once; a poll every `pollMs` covers a lost notification, and takes
 * over the jobs of dead instances.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres } from 'rate-limiter-flexible';
import { errors } from '../errors.js';
import { isFinished, JOB_STATES, type JobRecord, type JobState } from '../engine/job-record.js';
import type { ScheduleRow } from '../engine/schedule-fields.js';
import {
  exhaustedTypes,
  LANE_NUMBER,
  readySince,
  runAtOf,
  spendAllowance,
  UNFINISHED_STATES,
  type Admission,
  type OldestWaiting,
  type ClaimRequest,
  type ClusterListener,
  type JobStore,
  type SharedStore,
  type StoreListQuery,
  type StorePage,
} from './job-store.js';
import { zeroCounts } from './state-counts.js';
import { inTransaction, messageOf, migrate, redactUrl, SCHEMA_NAME, waitForDatabase } from './postgres-schema.js';
import { StoreOpenError } from '../errors.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** Where the tables live (PG_SCHEMA), created when missing. */
  schema: string;
  /** Connections in the pool (PG_POOL_SIZE), besides the one that listens. */
  poolSize: number;
  /** Finished records kept across the cluster; beyond it the oldest finished are deleted. */
  retention: number;
  /** How long a claimed job stays this instance's without a renewal (LEASE_MS). */
  leaseMs: number;
  /** How often to look for work no notification announced, and for jobs of dead instances (PG_POLL_MS). */
  pollMs: number;
  /** How long to wait for the database at open (PG_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
  /** Default: the host name, the pid and a random suffix. */
  instanceId?: string;
  /** A write of this job changed nothing: another instance owns it now, or a newer attempt was written. */
  onFenced?: (id: string) => void;
}

export interface PostgresStore extends JobStore {
  readonly shared: SharedStore;
  readonly pool: pg.Pool;
  /** Deletes the oldest finished records beyond the retention now (it also runs after commits, throttled). */
  retain(): Promise<void>;
}

/** How long after a failed commit the buffer is written again when nothing else triggers a commit, in ms. */
export const COMMIT_RETRY_MS = 250;
/**
 * How long a started job's `running` record may wait for a commit that other writes start, in ms. Its claim
 * counted the attempt already (`begun`), so the record only tells the other instances how the attempt goes; a
 * short attempt's outcome replaces it in the buffer, and the job is written once for its attempt, not twice.
 */
export const START_WRITE_DELAY_MS = 50;
/** Jobs taken over per statement. */
const TAKEOVER_BATCH = 500;
/** Finished records deleted per statement at most. */
const RETENTION_BATCH = 1000;
/** Retention runs at most this often, in ms, unless its last run left more to delete. */
const RETENTION_INTERVAL_MS = 1000;
/** After the listening connection broke, the wait before connecting it again, in ms. */
const RELISTEN_MS = 500;

interface Pending {
  record: JobRecord;
  /** LANE_NUMBER of the lane the job waits in now; null: none. */
  lane: number | null;
  /** The write of an attempt (its start, its progress, its outcome): only while this instance owns the job. */
  ofAttempt: boolean;
  /** The `running` record of an attempt just started: written within START_WRITE_DELAY_MS, or replaced. */
  isStart: boolean;
}

/** How many of `records` there are of each type. */
function countByType(records: Iterable<JobRecord>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { type } of records) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

/** What goes between instances on the schema's channel. */
type Notice =
  | { kind: 'ready'; from: string; types: Record<string, number> }
  | { kind: 'released'; from: string }
  | { kind: 'cancel'; from: string; to: string; id: string }
  | { kind: 'schedules'; from: string }
  | { kind: 'dispatch'; from: string; paused: boolean };

export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const { url, schema } = options;
  if (!SCHEMA_NAME.test(schema)) {
    throw new StoreOpenError(redactUrl(url), `PG_SCHEMA ${JSON.stringify(schema)} is not a plain lower-case identifier.`);
  }
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize });
  // An idle connection that breaks (the database restarted) is dropped by the pool; the next query connects anew.
  pool.on('error', () => {});
  try {
    await waitForDatabase(pool, url, options.connectTimeoutMs);
    await migrate(pool, schema, url);
  } catch (error) {
    await pool.end().catch(() => {});
    throw error;
  }
  return createStore(pool, options);
}

function createStore(pool: pg.Pool, options: PostgresStoreOptions): PostgresStore {
  const { schema, leaseMs } = options;
  const me = options.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const channel = `jobsvc_${schema}`;
  const table = `${schema}.jobs`;
  const counts = `${schema}.job_counts`;

  let pending = new Map<string, Pending>();
  /** The entries of the commit in flight, which `get` still sees. */
  let writing = new Map<string, Pending>();
  /** Every commit, one after another. */
  let chain: Promise<void> = Promise.resolve();
  let scheduled = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let listener: ClusterListener | undefined;
  const scheduleWatchers: (() => void)[] = [];
  const schedulesNotice = JSON.stringify({ kind: 'schedules', from: me } satisfies Notice);
  const timers: NodeJS.Timeout[] = [];
  let lastRetention = 0;
  /** Told the outcome of every commit, and of every poll (an idle instance notices an outage too). */
  const outcomeListeners = new Set<(error: unknown) => void>();
  const tellOutcome = (error: unknown) => outcomeListeners.forEach((listener) => listener(error));
  /** The connection that LISTENs on the schema's channel, once connected. */
  let listening: pg.Client | undefined;
  let retention: Promise<void> | undefined;

  /** Armed while start records wait in the buffer: it writes them, START_WRITE_DELAY_MS after the first. */
  let startWriteTimer: NodeJS.Timeout | undefined;
  /** The next scheduled commit writes the start records too. */
  let startsDue = false;
  function scheduleStartWrite() {
    if (startWriteTimer !== undefined || closed) return;
    startWriteTimer = setTimeout(() => {
      startWriteTimer = undefined;
      startsDue = true;
      schedule();
    }, START_WRITE_DELAY_MS);
    startWriteTimer.unref();
  }

  function schedule() {
    if (scheduled || closed) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const withStarts = startsDue;
      startsDue = false;
      commit({ withStarts }).catch(() => {
        // The entries wait in the buffer again; try once more soon even if nothing else comes.
        if (withStarts) startsDue = true;
        if (retryTimer === undefined && !closed) {
          retryTimer = setTimeout(() => {
            retryTimer = undefined;
            schedule();
          }, COMMIT_RETRY_MS);
          retryTimer.unref();
        }
      });
    });
  }

  /**
   * Writes what is buffered so far, after the commits before it; rejects with storage_unavailable. `withStarts`
   * false: the start records stay in the buffer (their timer writes them, or an outcome replaces them).
   */
  function commit({ withStarts = true } = {}): Promise<void> {
    const result = chain.then(() => writeBuffered(withStarts));
    chain = result.catch(() => {});
    return result;
  }

  async function writeBuffered(withStarts: boolean): Promise<void> {
    const entries = withStarts ? [...pending] : [...pending].filter(([, entry]) => !entry.isStart);
    if (entries.length === 0) return;
    writing = new Map(entries);
    if (entries.length === pending.size) pending = new Map();
    else for (const [id] of entries) pending.delete(id);
    try {
      const written = await upsert(entries);
      tellOutcome(null);
      if (written.size < entries.length && options.onFenced) {
        for (const [id] of entries) if (!written.has(id)) options.onFenced(id);
      }
    } catch (error) {
      tellOutcome(error);
      // Put back what no later save replaced, ahead of it in save order.
      const retained = new Map(entries.filter(([id]) => !pending.has(id)));
      for (const [id, entry] of pending) retained.set(id, entry);
      pending = retained;
      throw errors.storageUnavailable(messageOf(error));
    } finally {
      writing = new Map();
    }
    const readyTypes = countByType(entries.flatMap(([, { record, lane }]) => (lane === null ? [] : [record])));
    if (Object.keys(readyTypes).length > 0) notify({ kind: 'ready', from: me, types: readyTypes });
    if (entries.some(([, { record }]) => isFinished(record.state))) scheduleRetention();
  }

  /**
   * One statement for every buffered record, in save order (ready places are drawn in that order). Fenced: a
   * row another instance owns, or holding a newer attempt, is left alone; so is the write of an attempt (its
   * start, progress or outcome) to a row this instance no longer owns, such as one another instance took over
   * and finished. Resolves with the ids written.
   */
  async function upsert(entries: [string, Pending][]): Promise<Set<string>> {
    const columns = { id: [] as string[], type: [] as string[], state: [] as string[], attempt: [] as number[], record: [] as string[], lane: [] as (number | null)[], owned: [] as boolean[], priority: [] as number[], runAt: [] as (number | null)[] };
    const attemptWrites: string[] = [];
    for (const [id, { record, lane, ofAttempt }] of entries) {
      if (ofAttempt) attemptWrites.push(id);
      columns.id.push(id);
      columns.priority.push(record.priority);
      columns.runAt.push(runAtOf(record));
      columns.type.push(record.type);
      columns.state.push(record.state);
      columns.attempt.push(record.attempts);
      columns.record.push(JSON.stringify(record));
      columns.lane.push(lane);
      // Running, or in backoff or claimed and not in a lane: this instance holds the job, under its lease.
      columns.owned.push(lane === null && !isFinished(record.state) && record.state !== 'scheduled');
    }
    const result = await pool.query<{ id: string }>({
      name: 'jobsvc-upsert',
      text: `WITH v AS (
         SELECT v.*, $5::jsonb -> (v.ord - 1)::int AS record,
                CASE WHEN v.lane IS NULL THEN NULL ELSE nextval('${schema}.ready_order') END AS ready_seq,
                CASE WHEN v.state IN ('done', 'failed', 'cancelled') THEN nextval('${schema}.finish_order') END AS finished_seq
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $6::smallint[], $7::bool[],
                     $10::smallint[], $11::bigint[])
              WITH ORDINALITY AS v(id, type, state, attempt, lane, owned, priority, run_at, ord)
         ORDER BY ord
       )
       INSERT INTO ${table} AS j (id, type, state, attempt, record, ready_lane, ready_seq, finished_seq, owner,
                                  lease_expires_at, priority, run_at)
       SELECT id, type, state, attempt, record, lane, ready_seq, finished_seq,
              CASE WHEN owned THEN $8 END, CASE WHEN owned THEN now() + $9 * interval '1 millisecond' END,
              priority, run_at
       FROM v ORDER BY ord
       ON CONFLICT (id) DO UPDATE SET
         state = excluded.state, attempt = excluded.attempt, record = excluded.record,
         ready_lane = excluded.ready_lane, ready_seq = excluded.ready_seq, finished_seq = excluded.finished_seq,
         owner = excluded.owner, lease_expires_at = excluded.lease_expires_at, priority = excluded.priority,
         run_at = excluded.run_at, begun = NULL
       WHERE (j.owner = $8 OR (j.owner IS NULL AND NOT (j.id = ANY($12::text[])))) AND j.attempt <= excluded.attempt
       RETURNING j.id`,
      values: [
        columns.id, columns.type, columns.state, columns.attempt, `[${columns.record.join(',')}]`, columns.lane, columns.owned, me, leaseMs,
        columns.priority, columns.runAt, attemptWrites,
      ],
    });
    return new Set(result.rows.map((row) => row.id));
  }

  function notify(notice: Notice) {
    pool.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify(notice)]).catch(() => {
      // A lost notification costs a poll interval, nothing more.
    });
  }

  function scheduleRetention() {
    if (retention || closed || Date.now() - lastRetention < RETENTION_INTERVAL_MS) return;
    void retain();
  }

  /** Deletes the oldest finished records beyond the retention, one instance at a time (an advisory lock). */
  function retain(): Promise<void> {
    retention ??= (async () => {
      let deleted = 0;
      try {
        deleted = await inTransaction(pool, async (client) => {
          const lock = await client.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS got', [
            `xstate-job-service:${schema}:retention`,
          ]);
          if (!lock.rows[0]!.got) return 0;
          const result = await client.query(
            `DELETE FROM ${table} WHERE seq IN (
               SELECT seq FROM ${table} WHERE finished_seq IS NOT NULL ORDER BY finished_seq
               LIMIT least($2, greatest(0, (SELECT sum(n) FROM ${counts} WHERE state IN ('done', 'failed', 'cancelled')) - $1)))`,
            [options.retention, RETENTION_BATCH],
          );
          return result.rowCount ?? 0;
        });
      } catch {
        // Out of reach: the next commit with a finished job tries again.
      } finally {
        lastRetention = Date.now();
        retention = undefined;
      }
      if (deleted === RETENTION_BATCH) await retain();
      else await foldCountShards().catch(() => {
        // Out of reach: the shards are folded at a later run; their sum is the count meanwhile.
      });
    })();
    return retention;
  }

  /**
   * Adds every connection's counter rows into shard 0 (see migration 3): the shards of connections long closed
   * would otherwise pile up. One instance at a time, so that two never take the same rows in different orders.
   */
  function foldCountShards(): Promise<void> {
    return inTransaction(pool, async (client) => {
      const lock = await client.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS got', [
        `xstate-job-service:${schema}:fold-counts`,
      ]);
      if (!lock.rows[0]!.got) return;
      await client.query(
        `WITH folded AS (DELETE FROM ${counts} WHERE shard <> 0 RETURNING type, state, n)
         INSERT INTO ${counts} AS c (shard, type, state, n)
         SELECT 0, type, state, sum(n) FROM folded GROUP BY type, state
         ON CONFLICT (shard, type, state) DO UPDATE SET n = c.n + excluded.n`,
      );
    });
  }

  /** Admissions of this tick, answered together by one transaction. */
  let admissions: { record: JobRecord; limit: number; resolve: (a: Admission) => void; reject: (e: Error) => void }[] = [];

  /**
   * One admission transaction at a time per instance: the submissions that arrive meanwhile wait for the next,
   * which takes them all. (Several at once only queued on the advisory lock, each holding a connection of the
   * pool that claims and commits then waited for.)
   */
  let admitting = false;
  function admitBatch() {
    if (admitting || admissions.length === 0) return;
    admitting = true;
    const batch = admissions;
    admissions = [];
    admitAll(batch)
      .catch((error: unknown) => {
        const failure = errors.storageUnavailable(messageOf(error));
        for (const { reject } of batch) reject(failure);
      })
      .finally(() => {
        admitting = false;
        admitBatch();
      });
  }

  /** One round trip: the schema's `admit` function (migration 4) decides, inserts and announces. */
  async function admitAll(batch: typeof admissions) {
    const records = batch.map(({ record }) => record);
    const result = await pool.query<{ outcome: Admission['outcome']; existing: JobRecord | null }>({
      name: 'jobsvc-admit',
      text: `SELECT outcome, existing FROM ${schema}.admit($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      values: [
        records.map((r) => r.id), records.map((r) => r.type), records.map((r) => r.state),
        JSON.stringify(records), records.map((r) => r.priority), records.map(runAtOf),
        // A scheduled job's limit is infinite (it takes no place in QUEUE_SIZE): bigint has no infinity.
        batch.map(({ limit }) => (Number.isFinite(limit) ? limit : Number.MAX_SAFE_INTEGER)),
        channel, me,
      ],
    });
    batch.forEach(({ resolve }, i) => {
      const { outcome, existing } = result.rows[i]!;
      resolve(outcome === 'duplicate' ? { outcome, existing: existing! } : { outcome });
    });
  }

  /**
   * A claimed job whose `running` record was never written (`begun` still set, migration 8) had its attempt
   * begun: it is handed over as running, with that attempt, so that the job chart counts it as interrupted.
   * Claimed and not begun, it waits in its lane again.
   */
  async function takeOver(): Promise<JobRecord[]> {
    const result = await pool.query<{ state: JobState; record: JobRecord }>(
      `WITH orphaned AS (
         SELECT id, CASE WHEN state = 'queued' AND begun IS NOT NULL THEN 'running' ELSE state END AS taken_as
         FROM ${table}
         WHERE ((state IN ('queued', 'running', 'backoff') AND ready_lane IS NULL)
                OR (state = 'scheduled' AND run_at IS NULL))
           AND (owner IS NULL OR (owner <> $1 AND lease_expires_at < now()))
         ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED
       )
       UPDATE ${table} j SET
         state = o.taken_as,
         attempt = CASE WHEN o.taken_as = j.state THEN j.attempt ELSE j.begun END,
         record = CASE WHEN o.taken_as = j.state THEN j.record
                       ELSE j.record || jsonb_build_object('state', o.taken_as, 'attempts', j.begun) END,
         begun = NULL,
         owner = CASE WHEN o.taken_as IN ('queued', 'scheduled') THEN NULL ELSE $1 END,
         lease_expires_at = CASE WHEN o.taken_as IN ('queued', 'scheduled') THEN NULL
                                 ELSE now() + $2 * interval '1 millisecond' END,
         ready_lane = CASE WHEN o.taken_as = 'queued' THEN 1 END,
         ready_seq = CASE WHEN o.taken_as = 'queued' THEN nextval('${schema}.ready_order') END,
         run_at = CASE WHEN o.taken_as = 'scheduled' THEN (j.record->>'next_run_at')::bigint END
       FROM orphaned o WHERE j.id = o.id
       RETURNING j.state, j.record`,
      [me, leaseMs, TAKEOVER_BATCH],
    );
    const requeued = countByType(result.rows.filter(({ state }) => state === 'queued').map(({ record }) => record));
    // A queued one waits in its lane again, a scheduled one in the due index (for any due timer): only running
    // and backoff jobs are restored here.
    const restore = result.rows.filter(({ state }) => state === 'running' || state === 'backoff').map(({ record }) => record);
    if (Object.keys(requeued).length > 0) {
      notify({ kind: 'ready', from: me, types: requeued });
      listener?.ready(requeued);
    }
    return restore;
  }

  /** Claims with no per-type limit: one statement. */
  async function claimInOrder(limit: number): Promise<JobRecord[]> {
    const result = await pool.query<{ record: JobRecord; priority: number; lane: number; seq: string }>({
      name: 'jobsvc-claim',
      text: `WITH picked AS (
         SELECT id, priority, ready_lane, ready_seq FROM ${table} WHERE ready_lane IS NOT NULL
         ORDER BY priority DESC, ready_lane, ready_seq LIMIT $1 FOR UPDATE SKIP LOCKED
       )
       UPDATE ${table} j SET ready_lane = NULL, ready_seq = NULL, owner = $2,
         lease_expires_at = now() + $3 * interval '1 millisecond', begun = j.attempt + 1
       FROM picked WHERE j.id = picked.id
       RETURNING j.record, picked.priority, picked.ready_lane AS lane, picked.ready_seq AS seq`,
      values: [limit, me, leaseMs],
    });
    // RETURNING keeps no order: claim order is priority, then the lanes, then the places in them.
    return result.rows
      .sort((a, b) => b.priority - a.priority || a.lane - b.lane || Number(BigInt(a.seq) - BigInt(b.seq)))
      .map((row) => row.record);
  }

  async function claimJobs(limit: number, allowances: ReadonlyMap<string, number> | undefined): Promise<JobRecord[]> {
    if (allowances === undefined || allowances.size === 0) return claimInOrder(limit);
    return inTransaction(pool, async (client) => {
      const left = new Map(allowances);
      // A type's `concurrency` holds across the cluster: what this instance may still start, less what the
      // others run (or claimed) of that type now. One such claim at a time, so two never count the same room.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`xstate-job-service:${schema}:limited-claims`]);
      const elsewhere = await client.query<{ type: string; n: string }>(
        `SELECT type, count(*) AS n FROM ${table}
         WHERE type = ANY($1::text[]) AND owner IS NOT NULL AND owner <> $2 AND ready_lane IS NULL
           AND state IN ('queued', 'running')
         GROUP BY type`,
        [[...left.keys()], me],
      );
      for (const { type, n } of elsewhere.rows) left.set(type, left.get(type)! - Number(n));
      const picked: { id: string; record: JobRecord }[] = [];
      const skipped = new Set<string>();
      for (let again = true; again && picked.length < limit; ) {
        again = false;
        const exhausted = exhaustedTypes(left);
        const rows = await client.query<{ id: string; type: string; record: JobRecord }>(
          `SELECT id, type, record FROM ${table}
           WHERE ready_lane IS NOT NULL AND NOT (type = ANY($2::text[])) AND NOT (id = ANY($3::text[]))
           ORDER BY priority DESC, ready_lane, ready_seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [limit - picked.length, exhausted, [...picked.map((p) => p.id), ...skipped]],
        );
        for (const row of rows.rows) {
          if (spendAllowance(left, row.type)) picked.push(row);
          else {
            skipped.add(row.id);
            again = true; // the type ran out: ask again without it
          }
        }
      }
      if (picked.length > 0) {
        await client.query(
          `UPDATE ${table} SET ready_lane = NULL, ready_seq = NULL, owner = $2,
             lease_expires_at = now() + $3 * interval '1 millisecond', begun = attempt + 1
           WHERE id = ANY($1::text[])`,
          [picked.map((p) => p.id), me, leaseMs],
        );
      }
      return picked.map((p) => p.record);
    });
  }

  function handleNotice(payload: string | undefined) {
    if (payload === undefined) return;
    let notice: Notice;
    try {
      notice = JSON.parse(payload) as Notice;
    } catch {
      return;
    }
    if (notice.from === me) return;
    if (notice.kind === 'schedules') scheduleWatchers.forEach((onChange) => onChange());
    if (!listener) return;
    if (notice.kind === 'ready') listener.ready(notice.types);
    else if (notice.kind === 'released') void pollOnce();
    else if (notice.kind === 'cancel' && notice.to === me) listener.cancelRequested(notice.id);
    else if (notice.kind === 'dispatch') listener.dispatchChanged(notice.paused);
  }

  /** A connection of its own that LISTENs, connected again whenever it breaks. */
  async function listen() {
    if (closed) return;
    const client = new pg.Client({ connectionString: options.url });
    let broken = false;
    const again = () => {
      if (broken) return;
      broken = true;
      client.removeAllListeners();
      // Errors may follow the first (the connection's end): they are expected now, and must not end the process.
      client.on('error', () => {});
      client.end().catch(() => {});
      if (!closed) setTimeout(() => void listen(), RELISTEN_MS).unref();
    };
    client.on('error', again);
    client.on('end', again);
    client.on('notification', (message) => handleNotice(message.payload));
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
      listening = client;
    } catch {
      again();
    }
  }

  let polling = false;
  async function pollOnce() {
    if (polling || closed || !listener) return;
    polling = true;
    try {
      const orphans = await takeOver();
      tellOutcome(null);
      if (orphans.length > 0) listener.takenOver(orphans);
      listener.poll();
    } catch (error) {
      // The database is out of reach: the next poll tries again.
      tellOutcome(error);
    } finally {
      polling = false;
    }
  }

  function renewLeases() {
    pool
      .query(
        `UPDATE ${table} SET lease_expires_at = now() + $2 * interval '1 millisecond'
         WHERE owner = $1 AND ready_lane IS NULL AND state IN ('queued', 'running', 'backoff')`,
        [me, leaseMs],
      )
      .catch(() => {
        // Out of reach: if it lasts beyond the lease, another instance takes the jobs, and fencing keeps
        // this one's late writes out.
      });
  }

  const shared: SharedStore = {
    instanceId: me,
    admit(record, waitingLimit) {
      if (closed) return Promise.reject(new Error('job store is closed'));
      return new Promise((resolve, reject) => {
        if (admissions.length === 0 && !admitting) setImmediate(admitBatch);
        admissions.push({ record, limit: waitingLimit, resolve, reject });
      });
    },
    takeOver,
    async requestCancel(id) {
      const result = await pool.query<{ owner: string }>(
        `UPDATE ${table} SET record = jsonb_set(record, '{cancel_requested}', 'true')
         WHERE id = $1 AND owner IS NOT NULL AND owner <> $2 AND state IN ('queued', 'running', 'backoff')
           AND ready_lane IS NULL
         RETURNING owner`,
        [id, me],
      );
      const owner = result.rows[0]?.owner;
      if (owner === undefined) return false;
      notify({ kind: 'cancel', from: me, to: owner, id });
      return true;
    },
    async setDispatchPaused(paused) {
      // The notification in the same statement: delivered once the setting is committed.
      try {
        await pool.query(
          `WITH saved AS (
             INSERT INTO ${schema}.settings (name, value) VALUES ('dispatch_paused', $1)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value
           )
           SELECT pg_notify($2, $3)`,
          [JSON.stringify(paused), channel, JSON.stringify({ kind: 'dispatch', from: me, paused } satisfies Notice)],
        );
      } catch (error) {
        throw errors.storageUnavailable(messageOf(error));
      }
    },
    async dispatchPaused() {
      const result = await pool.query<{ value: boolean }>(`SELECT value FROM ${schema}.settings WHERE name = 'dispatch_paused'`);
      return result.rows[0]?.value === true;
    },
    watchSchedules(onChange) {
      scheduleWatchers.push(onChange);
    },
    rateLimiter(points, durationS) {
      return new RateLimiterPostgres({
        storeClient: pool,
        storeType: 'pool',
        schemaName: schema,
        // Made by migration 6: the limiter never runs DDL of its own.
        tableName: 'rate_limits',
        tableCreated: true,
        points,
        duration: durationS,
        // A client that used its allowance is refused from memory until its window ends: a flood of its
        // requests costs no round trips.
        inMemoryBlockOnConsumed: points,
        // The database out of reach: each instance counts on its own meanwhile, rather than refuse every client.
        insuranceLimiter: new RateLimiterMemory({ points, duration: durationS }),
      });
    },
    async watch(watcher) {
      listener = watcher;
      await listen();
      timers.push(setInterval(() => void pollOnce(), options.pollMs));
      timers.push(setInterval(renewLeases, Math.max(1, Math.floor(leaseMs / 3))));
      for (const timer of timers) timer.unref();
    },
  };

  /**
   * The per-state counts of each type, from the counters the triggers keep (migration 3). Callers
   * that ask at once share it (`/stats` wants the totals and the per-type counts together).
   */
  let counting: Promise<Record<string, Record<JobState, number>>> | undefined;
  function countsByType(): Promise<Record<string, Record<JobState, number>>> {
    counting ??= readQuery<{ type: string; state: JobState; n: string }>(
      `SELECT type, state, sum(n) AS n FROM ${counts} GROUP BY type, state HAVING sum(n) <> 0`,
      [],
      false,
    )
      .then((result) => {
        const byType: Record<string, Record<JobState, number>> = {};
        for (const { type, state, n } of result.rows) (byType[type] ??= zeroCounts())[state] = Number(n);
        return byType;
      })
      .finally(() => (counting = undefined));
    return counting;
  }

  /**
   * A read after the writes buffered so far. `withStarts` false: the reads of counts, lanes and due times, which
   * no start record changes (a claimed job counts as running already, migration 7).
   */
  const readQuery = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = [], withStarts = true) => {
    await commit({ withStarts });
    try {
      return await pool.query<T>(text, values);
    } catch (error) {
      throw errors.storageUnavailable(messageOf(error));
    }
  };

  return {
    durable: true,
    shared,

    onCommitOutcome(listener) {
      outcomeListeners.add(listener);
      return () => outcomeListeners.delete(listener);
    },
    pool,
    retain,

    save(record, from, ready) {
      if (closed) throw new Error('job store is closed');
      // Re-inserted, so that the Map's order (the write's order) is the order of the latest saves.
      // The start of an attempt a claim began (and counted): a start from backoff was not claimed, and its
      // record is what counts its attempt, so it is written at once.
      const isStart = record.state === 'running' && from === 'queued';
      pending.delete(record.id);
      pending.set(record.id, {
        record,
        lane: ready === undefined ? null : LANE_NUMBER[ready],
        ofAttempt: record.state === 'running' || from === 'running',
        isStart,
      });
      if (isStart) scheduleStartWrite();
      else schedule();
      return Promise.resolve();
    },

    async claim({ limit, allowances }: ClaimRequest) {
      if (closed) throw new Error('job store is closed');
      // What a claim needs written first is the jobs put in lanes here; the start records can wait.
      await commit({ withStarts: false });
      return claimJobs(limit, allowances);
    },

    flush: () => (pending.size === 0 && writing.size === 0 ? Promise.resolve() : commit()),

    async discard(id) {
      pending.delete(id);
      await pool.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
    },

    async get(id) {
      const buffered = pending.get(id) ?? writing.get(id);
      if (buffered) return buffered.record;
      try {
        const result = await pool.query<{ record: JobRecord }>(`SELECT record FROM ${table} WHERE id = $1`, [id]);
        return result.rows[0]?.record;
      } catch (error) {
        throw errors.storageUnavailable(messageOf(error));
      }
    },

    async list({ state, type, limit, cursor }: StoreListQuery): Promise<StorePage> {
      let before = Number.MAX_SAFE_INTEGER;
      if (cursor !== undefined) {
        if (!/^\d{1,15}$/.test(cursor)) throw errors.validationFailed({ cursor: ['Not a cursor this server issued.'] });
        before = Number(cursor);
      }
      const result = await readQuery<{ seq: string; record: JobRecord }>(
        `SELECT seq, record FROM ${table}
         WHERE seq < $1 AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR type = $3)
         ORDER BY seq DESC LIMIT $4`,
        [before, state ?? null, type ?? null, limit + 1],
      );
      const rows = result.rows;
      const more = rows.length > limit;
      if (more) rows.pop();
      return { jobs: rows.map((row) => row.record), next_cursor: more ? rows[rows.length - 1]!.seq : null };
    },

    async counts() {
      const totals = zeroCounts();
      for (const counts of Object.values(await countsByType())) {
        for (const state of JOB_STATES) totals[state] += counts[state];
      }
      return totals;
    },

    countsByType,

    // Written at once, outside the group commit: schedules change seldom, and an operator's change is stored
    // when its request is answered. The notification goes in the same statement, so it is delivered once the
    // change is committed: the other instances read it then (`watchSchedules`).
    async saveSchedule(row: ScheduleRow) {
      await pool.query(
        `WITH saved AS (
           INSERT INTO ${schema}.schedules (name, row) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET row = excluded.row
         )
         SELECT pg_notify($3, $4)`,
        [row.name, JSON.stringify(row), channel, schedulesNotice],
      );
    },

    // Only the fire's two fields, merged into the row as it is when the update runs: a pause or a replacement
    // committed just before is kept (under READ COMMITTED the update sees the newest row version). Only a later
    // fire is written. No notification: the other instances fire the same schedule themselves, and a sync
    // changes nothing for a fire.
    async saveScheduleFire(fire) {
      await pool.query(
        `UPDATE ${schema}.schedules SET row = row || jsonb_build_object('last_fire_at', $2::bigint, 'last_job_id', $3::text)
         WHERE name = $1 AND coalesce((row->>'last_fire_at')::bigint < $2, true)`,
        [fire.name, fire.last_fire_at, fire.last_job_id],
      );
    },

    // Only `paused`, merged into the row as it is (a replacement or a fire committed just before is kept), and
    // announced in the same statement, as a whole row's write is.
    async saveSchedulePaused(name, paused) {
      await pool.query(
        `WITH saved AS (UPDATE ${schema}.schedules SET row = jsonb_set(row, '{paused}', to_jsonb($2::boolean)) WHERE name = $1)
         SELECT pg_notify($3, $4)`,
        [name, paused, channel, schedulesNotice],
      );
    },

    async deleteSchedule(name) {
      await pool.query(
        `WITH deleted AS (DELETE FROM ${schema}.schedules WHERE name = $1) SELECT pg_notify($2, $3)`,
        [name, channel, schedulesNotice],
      );
    },

    async schedules() {
      const result = await pool.query<{ row: ScheduleRow }>(`SELECT row FROM ${schema}.schedules ORDER BY name`);
      return result.rows.map(({ row }) => row);
    },

    async oldestWaiting() {
      // The head of each lane of each priority: the priorities found one by one down the ready index (a loose
      // index scan), so the cost grows with the priorities in use, not with the jobs waiting.
      const result = await readQuery<{ priority: number; record: JobRecord }>(
        `WITH RECURSIVE levels(priority) AS (
           (SELECT priority FROM ${table} WHERE ready_lane IS NOT NULL ORDER BY priority DESC LIMIT 1)
           UNION ALL
           SELECT (SELECT j.priority FROM ${table} j WHERE j.ready_lane IS NOT NULL AND j.priority < levels.priority
                   ORDER BY j.priority DESC LIMIT 1)
           FROM levels WHERE levels.priority IS NOT NULL
         )
         SELECT levels.priority, head.record FROM levels
         CROSS JOIN (VALUES (0), (1)) AS lanes(lane)
         CROSS JOIN LATERAL (
           SELECT record FROM ${table} j
           WHERE j.priority = levels.priority AND j.ready_lane = lanes.lane ORDER BY j.ready_seq LIMIT 1
         ) AS head
         WHERE levels.priority IS NOT NULL
         ORDER BY levels.priority DESC, lanes.lane`,
        [],
        false,
      );
      const oldest: OldestWaiting[] = [];
      for (const { priority, record } of result.rows) {
        const since = readySince(record);
        const last = oldest.at(-1);
        if (last?.priority === priority) last.since = Math.min(last.since, since);
        else oldest.push({ priority, since });
      }
      return oldest;
    },

    async nextDueAt() {
      const result = await readQuery<{ at: string | null }>(`SELECT min(run_at) AS at FROM ${table} WHERE run_at IS NOT NULL`, [], false);
      const at = result.rows[0]?.at;
      return at === null || at === undefined ? null : Number(at);
    },

    async takeDue(now, limit) {
      await commit();
      // Handed out once across the cluster: out of the due index, and this instance's under a lease until the
      // engine saves it as queued (a takeover puts it back in the index if this instance dies first).
      const result = await pool.query<{ record: JobRecord; due: string; seq: string }>(
        `WITH due AS (
           SELECT id, run_at, seq FROM ${table} WHERE run_at IS NOT NULL AND run_at <= $1
           ORDER BY run_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED
         )
         UPDATE ${table} j SET run_at = NULL, owner = $3, lease_expires_at = now() + $4 * interval '1 millisecond'
         FROM due WHERE j.id = due.id
         RETURNING j.record, due.run_at AS due, due.seq`,
        [now, limit, me, leaseMs],
      );
      return result.rows
        .sort((a, b) => Number(BigInt(a.due) - BigInt(b.due)) || Number(BigInt(a.seq) - BigInt(b.seq)))
        .map(({ record }) => record);
    },

    async unfinished(states = UNFINISHED_STATES) {
      const result = await readQuery<{ record: JobRecord }>(
        `SELECT record FROM ${table} WHERE state = ANY($1::text[]) ORDER BY seq`,
        [states],
      );
      return result.rows.map((row) => row.record);
    },

    async close() {
      if (closed) return;
      try {
        await commit();
        // Released, not left to expire: the other instances take these jobs over at once.
        const released = await pool.query(
          `UPDATE ${table} SET owner = NULL, lease_expires_at = NULL WHERE owner = $1`,
          [me],
        );
        if ((released.rowCount ?? 0) > 0) {
          await pool.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify({ kind: 'released', from: me })]);
        }
      } finally {
        closed = true;
        for (const timer of timers) clearInterval(timer);
        if (retryTimer) clearTimeout(retryTimer);
        if (startWriteTimer) clearTimeout(startWriteTimer);
        listening?.removeAllListeners();
        await listening?.end().catch(() => {});
        await retention?.catch(() => {});
        await pool.end().catch(() => {});
      }
    },
  };
}
