/**
 * The durable job store: one SQLite file (better-sqlite3, WAL mode), the default (`STORE=sqlite:<path>`).
 *
 * Writes: `save` only buffers (`write-buffer.ts`, the group commit): one transaction per tick writes every
 * record saved in it. `flush()` resolves once everything saved before it is committed, and rejects with
 * `storage_unavailable` when the write failed; the records stay buffered and are written again.
 *
 * The backlog: a job waiting for a worker slot has a ready lane and a place in it (`ready_lane`, `ready_seq`),
 * and `claim` takes the rows in claim order (`priority` DESC, `ready_lane`, `ready_seq`) through a partial
 * index, one priority at a time, so a claim costs O(log n) however many jobs wait, and no waiting job costs
 * memory. A scheduled job has `run_at` (null in every other state), and a partial index finds the earliest. The WAL is kept small (WAL_CHECKPOINT_PAGES,
 * WAL_LIMIT_BYTES, LARGE_COMMIT_RECORDS).
 *
 * Reads: `get` sees the buffer first; `list`, `unfinished` and `claim` commit the buffer before they query, so
 * they read their own writes. `counts` lives in memory: loaded with one GROUP BY at open, then kept by `save`.
 *
 * Retention: after a commit, while more than `retention` records are finished, the oldest finished are
 * deleted, at most RETENTION_BATCH per tick, in their own transaction (never in `save`, never in a commit
 * that a submission waits on). Unfinished records are never deleted. This mirrors the memory store.
 *
 * Opening: the file is locked for this process alone (`locking_mode=EXCLUSIVE`, and a write at open takes
 * the lock, held until `close`), so a second instance on the same file fails at once with SQLITE_BUSY: a
 * real lock, not a guess from a pid file. The file is checked (`quick_check`) and its schema migrated
 * forward (`PRAGMA user_version`, MIGRATIONS). Any failure there is a `StoreOpenError` naming the file: a
 * corrupt file is never replaced by an empty one.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { errors, StoreOpenError } from '../errors.js';
import { finishedCount, isFinished, JOB_STATES, type JobRecord, type JobState } from '../engine/job-record.js';
import { INPUT_DEFAULTS, PRIORITY_MAX } from '../engine/job-fields.js';
import type { ScheduleRow } from '../engine/schedule-fields.js';
import {
  exhaustedTypes,
  LANE_NUMBER,
  readySince,
  runAtOf,
  spendAllowance,
  TAKEN,
  UNFINISHED_STATES,
  type ClaimRequest,
  type OldestWaiting,
  type JobStore,
  type StoreListQuery,
  type StorePage,
} from './job-store.js';
import { StateCounts } from './state-counts.js';
import { createWriteBuffer } from './write-buffer.js';

export type Durability = 'normal' | 'full';

export interface SqliteStoreOptions {
  /** The database file; its directory is created when missing. */
  path: string;
  /**
   * `normal` (synchronous=NORMAL): a commit survives a crash of the process, not a power loss.
   * `full` (synchronous=FULL): every commit is fsynced, so it also survives a power loss. Default `normal`.
   */
  durability?: Durability;
  /** Finished (done, failed or cancelled) records kept; beyond it the oldest finished are deleted. */
  retention: number;
  /** Called after each committed write transaction with the number of records it wrote (metrics, tests). */
  onCommit?: (records: number) => void;
}

export interface SqliteStore extends JobStore {
  /** The open connection, for diagnostics and tests; writing through it bypasses the buffer and the counts. */
  readonly db: Database.Database;
}

/** The WAL's pages (4 KiB each) that trigger a checkpoint: about 1 MiB. */
export const WAL_CHECKPOINT_PAGES = 256;
/** The size the WAL file is cut back to after a checkpoint. */
export const WAL_LIMIT_BYTES = 1024 * 1024;
/** A commit of this many records or more is checkpointed at once (`wal_checkpoint(TRUNCATE)`). */
export const LARGE_COMMIT_RECORDS = 1000;

/** Finished records deleted per tick at most, so retention never holds the event loop for long. */
export const RETENTION_BATCH = 500;
/** How long after a failed commit the buffer is written again, when nothing else triggers a commit sooner. */
export const COMMIT_RETRY_MS = 250;

/**
 * The schema's forward migrations: entry i takes `user_version` i to i + 1. Append, never edit: a file
 * records how far it got, and opening it runs the rest, each in its own transaction.
 */
export const MIGRATIONS: readonly ((db: Database.Database) => void)[] = [
  // 1: one row per job, the record as JSON. `seq` is the submission order (list order, cursors, the order a
  // restart queues jobs in again); `finished_seq` the order jobs finished in (retention deletes the lowest).
  (db) =>
    db.exec(`
      CREATE TABLE jobs (
        seq          INTEGER PRIMARY KEY,
        id           TEXT    NOT NULL UNIQUE,
        state        TEXT    NOT NULL,
        finished_seq INTEGER,
        record       TEXT    NOT NULL
      );
      CREATE INDEX jobs_by_state ON jobs (state, seq);
      CREATE INDEX jobs_by_finish ON jobs (finished_seq) WHERE finished_seq IS NOT NULL;
    `),
  // 2: job types. Every job stored before them ran the one processor there was, now the type `simulated`.
  (db) =>
    db.exec(`
      ALTER TABLE jobs ADD COLUMN type TEXT NOT NULL DEFAULT 'simulated';
      CREATE INDEX jobs_by_type ON jobs (type, seq);
    `),
  // 3: the ready lanes. A job waiting for a worker slot has `ready_lane` 0 (a due retry) or 1 (a new job) and
  // `ready_seq`, the order it became ready in; a claim takes the lowest (lane, seq) pair through the partial
  // index. Jobs queued before lanes existed wait in lane 1 in their submission order.
  (db) =>
    db.exec(`
      ALTER TABLE jobs ADD COLUMN ready_lane INTEGER;
      ALTER TABLE jobs ADD COLUMN ready_seq INTEGER;
      UPDATE jobs SET ready_lane = 1, ready_seq = seq WHERE state = 'queued';
      CREATE INDEX jobs_ready ON jobs (ready_lane, ready_seq) WHERE ready_lane IS NOT NULL;
    `),
  // 4: priorities and scheduled jobs. `priority` (−100..100, 0 for every older job) leads the claim order, so
  // the ready index leads with it; `run_at` is a scheduled job's due time (null in every other state), and the
  // due index finds the earliest in O(log n) however many are scheduled.
  (db) =>
    db.exec(`
      ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN run_at INTEGER;
      DROP INDEX jobs_ready;
      CREATE INDEX jobs_ready ON jobs (priority DESC, ready_lane, ready_seq) WHERE ready_lane IS NOT NULL;
      CREATE INDEX jobs_due ON jobs (run_at, seq) WHERE run_at IS NOT NULL;
    `),
  // 5: cron schedules, one row each, the schedule as JSON (its definition, paused or not, its last fire).
  (db) => db.exec('CREATE TABLE schedules (name TEXT PRIMARY KEY, row TEXT NOT NULL)'),
];

/** The claim order's priorities start below this one (above PRIORITY_MAX). */
const ABOVE_EVERY_PRIORITY = PRIORITY_MAX + 1;

/** A buffered write: the latest record of a job, or the removal of a job whose admission was abandoned. */
type Pending =
  | {
      kind: 'put';
      record: JobRecord;
      /** The submission order of a job not yet in the file; null when its row exists. */
      seq: number | null;
      finishedSeq: number | null;
      /** `LANE_NUMBER` of the lane the job waits in, and its place there; null when it waits in none. */
      lane: number | null;
      readySeq: number | null;
    }
  | { kind: 'delete' };

interface Row {
  seq: number;
  record: string;
}

interface ClaimRow {
  id: string;
  type: string;
  record: string;
  readySeq: number;
}

/** Opens (creating or migrating) the store at `options.path`; throws `StoreOpenError` naming the file. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const path = resolve(options.path);
  const db = openDatabase(path, options.durability ?? 'normal');
  try {
    return createStore(db, path, options);
  } catch (error) {
    db.close();
    throw error instanceof StoreOpenError ? error : new StoreOpenError(path, describe(error));
  }
}

function openDatabase(path: string, durability: Durability): Database.Database {
  let db: Database.Database | undefined;
  try {
    mkdirSync(dirname(path), { recursive: true });
    // timeout 0: a lock held by another instance fails at once instead of waiting for it.
    db = new Database(path, { timeout: 0 });
    // Before the first read: from then on this connection keeps every lock it takes until it closes.
    db.pragma('locking_mode = EXCLUSIVE');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`could not switch to WAL mode (journal_mode is ${String(mode)})`);
    db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    // The WAL is checkpointed into the database once it holds WAL_CHECKPOINT_PAGES pages, and cut back to
    // WAL_LIMIT_BYTES after each checkpoint: SQLite's defaults (1000 pages, never cut back) let the WAL alone
    // fill a small volume, and keep the largest size it ever reached.
    db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
    // A write transaction takes the exclusive lock now, rather than at the first save.
    db.exec('BEGIN IMMEDIATE; COMMIT');
    const check = db.pragma('quick_check', { simple: false }) as { quick_check: string }[];
    const problems = check.map((row) => row.quick_check).filter((line) => line !== 'ok');
    if (problems.length > 0) {
      throw new StoreOpenError(path, `the file is corrupt (quick_check: ${problems.slice(0, 3).join('; ')}). ${KEEP}`);
    }
    migrate(db, path);
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof StoreOpenError) throw error;
    throw new StoreOpenError(path, describe(error));
  }
}

const KEEP = 'Restore it from a backup or move it aside; the service does not start over a broken file.';

/** A person's reading of an error met while opening the file. */
function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return (
        `another running instance holds its lock (${code}). ` +
        'Stop that instance, or give this one another STORE file.'
      );
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return `the file is corrupt or not a SQLite database (${code}: ${message}). ${KEEP}`;
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_READONLY':
    case 'SQLITE_PERM':
    case 'SQLITE_IOERR':
      return `the file cannot be opened for writing (${code}: ${message}).`;
    default:
      return typeof code === 'string' ? `${code}: ${message}` : message;
  }
}

function migrate(db: Database.Database, path: string) {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new StoreOpenError(
      path,
      `its schema version is ${version}, newer than this build knows (${MIGRATIONS.length}); run a newer build.`,
    );
  }
  for (let next = version; next < MIGRATIONS.length; next++) {
    db.transaction(() => {
      MIGRATIONS[next]!(db);
      db.pragma(`user_version = ${next + 1}`);
    })();
  }
}

function createStore(db: Database.Database, path: string, options: SqliteStoreOptions): SqliteStore {
  const statements = {
    insert: db.prepare(
      `INSERT INTO jobs (seq, id, state, finished_seq, record, type, ready_lane, ready_seq, priority, run_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, state = excluded.state,
         finished_seq = excluded.finished_seq, record = excluded.record, ready_lane = excluded.ready_lane,
         ready_seq = excluded.ready_seq, priority = excluded.priority, run_at = excluded.run_at`,
    ),
    update: db.prepare(
      `UPDATE jobs SET state = ?, finished_seq = ?, record = ?, ready_lane = ?, ready_seq = ?, priority = ?, run_at = ?
       WHERE id = ?`,
    ),
    nextPriority: db
      .prepare('SELECT priority FROM jobs WHERE ready_lane IS NOT NULL AND priority < ? ORDER BY priority DESC LIMIT 1')
      .pluck(),
    putSchedule: db.prepare('INSERT INTO schedules (name, row) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET row = excluded.row'),
    // Only the fire's two fields, and only a later fire (a missing or null last fire compares as earlier). The
    // time is cast: a JavaScript number is bound as a REAL, which json_set would write as 1774224000000.0.
    putScheduleFire: db.prepare(
      `UPDATE schedules SET row = json_set(row, '$.last_fire_at', CAST(@last_fire_at AS INTEGER), '$.last_job_id', @last_job_id)
       WHERE name = @name AND coalesce(json_extract(row, '$.last_fire_at') < @last_fire_at, 1)`,
    ),
    putSchedulePaused: db.prepare(`UPDATE schedules SET row = json_set(row, '$.paused', json(@paused)) WHERE name = @name`),
    deleteSchedule: db.prepare('DELETE FROM schedules WHERE name = ?'),
    allSchedules: db.prepare('SELECT row FROM schedules ORDER BY name').pluck(),
    headOfLane: db
      .prepare('SELECT record FROM jobs WHERE priority = ? AND ready_lane = ? ORDER BY ready_seq LIMIT 1')
      .pluck(),
    byDueTime: db.prepare('SELECT id, run_at AS runAt FROM jobs WHERE run_at IS NOT NULL ORDER BY run_at, seq'),
    dueBy: db.prepare('SELECT id, record FROM jobs WHERE run_at IS NOT NULL AND run_at <= ? ORDER BY run_at, seq LIMIT ?'),
    delete: db.prepare('DELETE FROM jobs WHERE id = ?'),
    get: db.prepare('SELECT record FROM jobs WHERE id = ?').pluck(),
    page: db.prepare('SELECT seq, record FROM jobs WHERE seq < ? ORDER BY seq DESC LIMIT ?'),
    pageInState: db.prepare('SELECT seq, record FROM jobs WHERE state = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
    pageOfType: db.prepare('SELECT seq, record FROM jobs WHERE type = ? AND seq < ? ORDER BY seq DESC LIMIT ?'),
    pageOfTypeInState: db.prepare(
      'SELECT seq, record FROM jobs WHERE type = ? AND state = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
    ),
    oldestFinished: db.prepare(
      'SELECT id, state, type FROM jobs WHERE finished_seq IS NOT NULL ORDER BY finished_seq LIMIT ?',
    ),
  };

  const counts = new StateCounts();
  const grouped = db.prepare('SELECT type, state, count(*) AS n FROM jobs GROUP BY type, state').all() as {
    type: string;
    state: string;
    n: number;
  }[];
  for (const { type, state, n } of grouped) {
    if (!(JOB_STATES as readonly string[]).includes(state)) {
      throw new StoreOpenError(path, `a job row has an unknown state ${JSON.stringify(state)}.`);
    }
    counts.add(type, state as JobState, n);
  }
  const maxima = db
    .prepare('SELECT max(seq) AS seq, max(finished_seq) AS fin, max(ready_seq) AS ready FROM jobs')
    .get() as { seq: number | null; fin: number | null; ready: number | null };
  let nextSeq = (maxima.seq ?? 0) + 1;
  let nextFinishedSeq = (maxima.fin ?? 0) + 1;
  let nextReadySeq = (maxima.ready ?? 0) + 1;
  // The process that last held the file is gone: a job it claimed and never started waits in its lane
  // again, at its old place; every backoff job is re-armed by the engine's recovery, which puts it back in
  // the retry lane when its delay has passed.
  db.exec(`
    UPDATE jobs SET ready_lane = 1, ready_seq = coalesce(ready_seq, seq) WHERE state = 'queued' AND ready_lane IS NULL;
    UPDATE jobs SET ready_lane = NULL WHERE state <> 'queued' AND ready_lane IS NOT NULL;
  `);

  let retentionScheduled: NodeJS.Immediate | null = null;
  let closed = false;

  const writeBatch = db.transaction((entries: [string, Pending][]) => {
    for (const [id, entry] of entries) {
      if (entry.kind === 'delete') {
        statements.delete.run(id);
        continue;
      }
      const { record, finishedSeq, lane, readySeq } = entry;
      const json = JSON.stringify(record);
      // A row that vanished (a job discarded, then saved again) is inserted afresh at the end of the order.
      const { priority } = record;
      const runAt = runAtOf(record);
      if (
        entry.seq !== null ||
        statements.update.run(record.state, finishedSeq, json, lane, readySeq, priority, runAt, id).changes === 0
      ) {
        const seq = entry.seq ?? nextSeq++;
        statements.insert.run(seq, id, record.state, finishedSeq, json, record.type, lane, readySeq, priority, runAt);
      }
    }
  });

  /**
   * The buffered jobs that wait in a lane, by priority and lane number, in the order they became ready (a Map
   * keeps insertion order): the part of each lane the file does not have yet. `bufferedIn` finds a job's map.
   */
  const buffered = new Map<number, Map<string, JobRecord>[]>();
  const bufferedIn = new Map<string, Map<string, JobRecord>>();
  function bufferReady(record: JobRecord, lane: number) {
    let lanes = buffered.get(record.priority);
    if (!lanes) buffered.set(record.priority, (lanes = [new Map(), new Map()]));
    lanes[lane]!.set(record.id, record);
    bufferedIn.set(record.id, lanes[lane]!);
  }
  function unbufferReady(id: string) {
    bufferedIn.get(id)?.delete(id);
    bufferedIn.delete(id);
  }
  /** The highest priority below `below` with a buffered job waiting, or null. */
  function nextBufferedPriority(below: number): number | null {
    let best: number | null = null;
    for (const [priority, lanes] of buffered) {
      if (priority < below && (best === null || priority > best) && (lanes[0]!.size > 0 || lanes[1]!.size > 0)) best = priority;
    }
    return best;
  }
  /** Scheduled jobs handed out by `takeDue` and not saved since: handed out once. */
  const handedOut = new Set<string>();

  const commitListeners = new Set<(error: unknown) => void>();
  const pending = createWriteBuffer<Pending>({
    write: writeBatch,
    failed: (error) => commitListeners.forEach((listener) => listener(error)),
    written(entries) {
      commitListeners.forEach((listener) => listener(null));
      buffered.clear();
      bufferedIn.clear();
      // A large transaction grew the WAL beyond its usual size: fold it into the database and cut it back now,
      // rather than leaving the file that large until the next checkpoint.
      if (entries.length >= LARGE_COMMIT_RECORDS) checkpoint();
      options.onCommit?.(entries.length);
      scheduleRetention();
    },
    retryMs: COMMIT_RETRY_MS,
  });

  function overRetention() {
    return finishedCount(counts.total) > options.retention;
  }

  function scheduleRetention() {
    if (retentionScheduled === null && !closed && overRetention()) retentionScheduled = setImmediate(retentionTick);
  }

  const deleteBatch = db.transaction((ids: string[]) => {
    for (const id of ids) statements.delete.run(id);
  });

  /** Deletes up to RETENTION_BATCH of the oldest finished records, then comes back next tick if more must go. */
  function retentionTick() {
    retentionScheduled = null;
    if (closed || !overRetention()) return;
    const excess = finishedCount(counts.total) - options.retention;
    const candidates = statements.oldestFinished.all(Math.min(excess, RETENTION_BATCH)) as {
      id: string;
      state: JobState;
      type: string;
    }[];
    // A job with a buffered write is skipped: its row is not what it is now (e.g. retried since).
    const doomed = candidates.filter(({ id }) => !pending.has(id));
    if (doomed.length === 0) return; // the next commit tries again
    try {
      deleteBatch(doomed.map(({ id }) => id));
    } catch {
      return; // the next commit tries again
    }
    for (const { state, type } of doomed) {
      counts.add(type, state, -1);
    }
    scheduleRetention();
  }

  /** The claim statement that skips the types with no allowance left, prepared once per such set. */
  const claimStatements = new Map<string, Database.Statement>();
  function claimStatement(exhausted: string[]): Database.Statement {
    const key = exhausted.join('\u0000');
    let statement = claimStatements.get(key);
    if (!statement) {
      const skip = exhausted.length === 0 ? '' : `AND type NOT IN (${exhausted.map(() => '?').join(', ')})`;
      statement = db.prepare(
        `SELECT id, type, record, ready_seq AS readySeq FROM jobs
         WHERE priority = ? AND ready_lane = ? AND ready_seq > ? ${skip}
         ORDER BY ready_lane, ready_seq`,
      );
      claimStatements.set(key, statement);
    }
    return statement;
  }

  /**
   * Takes up to `limit` ready jobs in claim order, without a write of its own: a claimed job's lane is cleared
   * in the buffer, which the next group commit writes with the `running` record that follows it in the same
   * tick. (A crash before that commit leaves the job in its lane: it is claimed again after the restart.)
   *
   * The candidates of each lane are the rows on file (through the `jobs_ready` index, skipping the types
   * with no allowance left, and the jobs whose buffered write supersedes their row), then the jobs waiting in
   * the buffer: everything on file was saved before everything still buffered, so that is claim order.
   */
  function claimJobs(limit: number, allowances: ReadonlyMap<string, number> | undefined): JobRecord[] {
    const left = new Map(allowances ?? []);
    const claimed: JobRecord[] = [];
    /** Takes the job if its type has an allowance left; false once the type has none. */
    const take = (record: JobRecord) => {
      if (!spendAllowance(left, record.type)) return false;
      claimed.push(record);
      return true;
    };
    for (let below = ABOVE_EVERY_PRIORITY; claimed.length < limit; ) {
      const onFile = statements.nextPriority.get(below) as number | undefined;
      const inBuffer = nextBufferedPriority(below);
      const priority = Math.max(onFile ?? -Infinity, inBuffer ?? -Infinity);
      if (priority === -Infinity) break;
      for (const lane of [LANE_NUMBER.retry, LANE_NUMBER.new]) {
        claimFromFile(priority, lane, limit, left, take, claimed);
        const waiting = buffered.get(priority)?.[lane] ?? new Map<string, JobRecord>();
        for (const [id, record] of waiting) {
          if (claimed.length >= limit) break;
          if (!take(record)) continue;
          unbufferReady(id);
          const entry = pending.get(id) as Extract<Pending, { kind: 'put' }>;
          pending.set(id, { ...entry, lane: null, readySeq: null });
        }
      }
      below = priority;
    }
    return claimed;
  }

  /**
   * Per priority and lane (`priority:lane`), the `ready_seq` up to which the file's lane holds nothing
   * claimable: rows there were claimed (or superseded by a buffered write) since this store opened. A job
   * enters a lane only with a higher `ready_seq`, so a claim with no type left out reads on from here instead
   * of skipping those rows again.
   */
  const claimedUpTo = new Map<string, number>();

  function claimFromFile(
    priority: number,
    lane: number,
    limit: number,
    left: Map<string, number>,
    take: (record: JobRecord) => boolean,
    claimed: JobRecord[],
  ) {
    for (let again = true; again && claimed.length < limit; ) {
      again = false;
      const exhausted = exhaustedTypes(left);
      // With a type left out, rows of that type below the mark may still be claimable later: from the start.
      const segment = `${priority}:${lane}`;
      const from = exhausted.length === 0 ? (claimedUpTo.get(segment) ?? 0) : 0;
      const rows = claimStatement(exhausted).iterate(priority, lane, from, ...exhausted) as IterableIterator<ClaimRow>;
      for (const row of rows) {
        if (claimed.length >= limit) break;
        if (!pending.has(row.id)) {
          const record = parseRecord(row.record);
          if (!take(record)) {
            again = true; // the type ran out: ask again without it, rather than read past its rows
            break;
          }
          pending.set(row.id, { kind: 'put', record, seq: null, finishedSeq: null, lane: null, readySeq: null });
        } // else its buffered write says where it is now
        if (exhausted.length === 0) claimedUpTo.set(segment, row.readySeq);
      }
    }
  }

  function checkpoint() {
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // A failed checkpoint loses nothing: the WAL still holds the commit, and the next one tries again.
    }
  }

  /**
   * The records read from the file, each replaced by its buffered version, and the buffered records in
   * `states` the file does not have there yet after them (new jobs in submission order).
   */
  function overlayBuffer(fromFile: JobRecord[], states: readonly JobState[]): JobRecord[] {
    const seen = new Set<string>();
    const records: JobRecord[] = [];
    for (const record of fromFile) {
      seen.add(record.id);
      const buffered = pending.get(record.id);
      const latest = buffered === undefined ? record : buffered.kind === 'put' ? buffered.record : undefined;
      if (latest && states.includes(latest.state)) records.push(latest);
    }
    const unwritten: { seq: number; record: JobRecord }[] = [];
    for (const [id, buffered] of pending.entries()) {
      if (seen.has(id) || buffered.kind !== 'put' || !states.includes(buffered.record.state)) continue;
      unwritten.push({ seq: buffered.seq ?? Number.MAX_SAFE_INTEGER, record: buffered.record });
    }
    unwritten.sort((a, b) => a.seq - b.seq);
    return [...records, ...unwritten.map(({ record }) => record)];
  }

  /** Commits the buffer now, so that a query sees every save made so far. */
  const commitBeforeRead = () => pending.writeNow();

  return {
    durable: true,
    db,

    onCommitOutcome(listener) {
      commitListeners.add(listener);
      return () => commitListeners.delete(listener);
    },

    save(record, from, ready) {
      if (closed) throw new Error(`job store ${path} is closed`);
      const previous = pending.get(record.id);
      const finished = isFinished(record.state);
      const seq = previous?.kind === 'put' ? previous.seq : from === null ? nextSeq++ : null;
      let finishedSeq: number | null = null;
      if (finished) {
        // Kept when the job was finished already within this tick: it finished then, not now.
        const earlier = previous?.kind === 'put' ? previous.finishedSeq : null;
        finishedSeq = earlier ?? nextFinishedSeq++;
      }
      const lane = ready === undefined ? null : LANE_NUMBER[ready];
      pending.set(record.id, { kind: 'put', record, seq, finishedSeq, lane, readySeq: lane === null ? null : nextReadySeq++ });
      unbufferReady(record.id);
      handedOut.delete(record.id);
      if (lane !== null) bufferReady(record, lane);
      counts.move(record.type, from, record.state);
      return TAKEN;
    },

    claim({ limit, allowances }: ClaimRequest) {
      if (closed) return Promise.reject(new Error(`job store ${path} is closed`));
      try {
        return Promise.resolve(claimJobs(limit, allowances));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },

    // Written at once, outside the group commit: schedules change seldom, and an operator's change is on disk
    // when its request is answered.
    async saveSchedule(row) {
      statements.putSchedule.run(row.name, JSON.stringify(row));
    },

    async saveScheduleFire(fire) {
      statements.putScheduleFire.run(fire);
    },

    async saveSchedulePaused(name, paused) {
      statements.putSchedulePaused.run({ name, paused: String(paused) });
    },

    async deleteSchedule(name) {
      statements.deleteSchedule.run(name);
    },

    async schedules() {
      return (statements.allSchedules.all() as string[]).map((json) => JSON.parse(json) as ScheduleRow);
    },

    async oldestWaiting() {
      try {
        commitBeforeRead();
      } catch {
        // Writes fail: the file's lanes still answer, without the jobs only the buffer has.
      }
      const oldest: OldestWaiting[] = [];
      for (let below = ABOVE_EVERY_PRIORITY; ; ) {
        const priority = statements.nextPriority.get(below) as number | undefined;
        if (priority === undefined) break;
        const heads = Object.values(LANE_NUMBER).map((lane) => statements.headOfLane.get(priority, lane) as string | undefined);
        const since = Math.min(...heads.map((json) => (json === undefined ? Infinity : readySince(parseRecord(json)))));
        if (since !== Infinity) oldest.push({ priority, since });
        below = priority;
      }
      return oldest;
    },

    async nextDueAt() {
      try {
        commitBeforeRead();
      } catch {
        // Writes fail: the file's earliest, or a buffered scheduled job's if earlier (an early wake-up is harmless).
      }
      let earliest: number | null = null;
      // Past the jobs handed out by `takeDue` and not saved since (a few at most: the engine saves them next).
      for (const row of statements.byDueTime.iterate() as IterableIterator<{ id: string; runAt: number }>) {
        if (handedOut.has(row.id)) continue;
        earliest = row.runAt;
        break;
      }
      for (const [, entry] of pending.entries()) {
        const at = entry.kind === 'put' ? runAtOf(entry.record) : null;
        if (at !== null && (earliest === null || at < earliest)) earliest = at;
      }
      return earliest;
    },

    async takeDue(now, limit) {
      commitBeforeRead();
      // The records with their ids, in one statement; enough rows for `limit` past those handed out already.
      const rows = statements.dueBy.all(now, limit + handedOut.size) as { id: string; record: string }[];
      const due: JobRecord[] = [];
      for (const row of rows) {
        if (due.length >= limit) break;
        if (handedOut.has(row.id)) continue;
        handedOut.add(row.id);
        due.push(parseRecord(row.record));
      }
      return due;
    },

    async discard(id) {
      const previous = pending.get(id);
      const current = previous?.kind === 'put' ? previous.record : previous ? undefined : readRow(id);
      if (!current) return;
      counts.add(current.type, current.state, -1);
      // Never written: forgetting the buffered record is enough. Otherwise its row goes at the next commit.
      unbufferReady(id);
      handedOut.delete(id);
      if (previous?.kind === 'put' && previous.seq !== null) pending.delete(id);
      else pending.set(id, { kind: 'delete' });
    },

    flush() {
      if (pending.size === 0) return Promise.resolve();
      if (closed) return Promise.reject(new Error(`job store ${path} is closed`));
      return pending.flush();
    },

    async get(id) {
      const entry = pending.get(id);
      if (entry) return entry.kind === 'put' ? entry.record : undefined;
      return readRow(id);
    },

    async list({ state, type, limit, cursor }: StoreListQuery): Promise<StorePage> {
      let before = Number.MAX_SAFE_INTEGER;
      if (cursor !== undefined) {
        if (!/^\d{1,15}$/.test(cursor)) throw errors.validationFailed({ cursor: ['Not a cursor this server issued.'] });
        before = Number(cursor);
      }
      let written = true;
      try {
        commitBeforeRead();
      } catch {
        // Writes fail (a full disk): list what the file has, each job as its buffered record shows it, rather
        // than not at all. Jobs submitted since the outage began are not in the file yet, and not listed.
        written = false;
      }
      const rows = (
        type && state
          ? statements.pageOfTypeInState.all(type, state, before, limit + 1)
          : type
            ? statements.pageOfType.all(type, before, limit + 1)
            : state
              ? statements.pageInState.all(state, before, limit + 1)
              : statements.page.all(before, limit + 1)
      ) as Row[];
      const more = rows.length > limit;
      if (more) rows.pop();
      const fromFile = rows.map((row) => parseRecord(row.record));
      const latest = (record: JobRecord) => {
        const buffered = pending.get(record.id);
        return buffered === undefined ? record : buffered.kind === 'put' ? buffered.record : undefined;
      };
      const matches = (record: JobRecord | undefined): record is JobRecord =>
        record !== undefined && (state === undefined || record.state === state) && (type === undefined || record.type === type);
      return {
        jobs: written ? fromFile : fromFile.map(latest).filter(matches),
        next_cursor: more ? String(rows[rows.length - 1]!.seq) : null,
      };
    },

    counts: () => Promise.resolve(counts.totals()),

    countsByType: () => Promise.resolve(counts.perType()),

    async unfinished(states = UNFINISHED_STATES) {
      let written = true;
      try {
        commitBeforeRead();
      } catch {
        // Writes fail (a full disk): answer from the file, with the buffered records over it, rather than not
        // at all. A shutdown lists the unfinished jobs exactly then.
        written = false;
      }
      const inStates = `state IN (${states.map(() => '?').join(', ')})`;
      const rows = db.prepare(`SELECT record FROM jobs WHERE ${inStates} ORDER BY seq`).pluck().all(...states);
      const records = (rows as string[]).map(parseRecord);
      return written ? records : overlayBuffer(records, states);
    },

    async close() {
      if (closed) return;
      try {
        pending.close();
      } finally {
        closed = true;
        if (retentionScheduled) clearImmediate(retentionScheduled);
        db.close();
      }
    },
  };

  function readRow(id: string): JobRecord | undefined {
    const json = statements.get.get(id) as string | undefined;
    return json === undefined ? undefined : parseRecord(json);
  }
}

/** The fields a record written before job types (schema version 1) lacks, with the values they stand for. */
const BEFORE_TYPES: Pick<JobRecord, 'type' | 'last_delay_source' | 'result' | 'result_error' | 'result_bytes' | 'progress'> = {
  type: 'simulated',
  last_delay_source: null,
  result: null,
  result_error: null,
  result_bytes: null,
  progress: null,
};

/** A stored record; one written by an older version gets the fields it lacks. */
function parseRecord(json: string): JobRecord {
  const record = JSON.parse(json) as JobRecord;
  // Written before priorities and scheduled jobs (schema version 3 and older).
  record.priority ??= INPUT_DEFAULTS.priority;
  record.next_run_at ??= INPUT_DEFAULTS.next_run_at;
  if (record.type !== undefined) return record;
  const upgraded = { ...BEFORE_TYPES, ...record };
  // Every delay before job types was the backoff formula's.
  if (upgraded.last_delay_ms !== null) upgraded.last_delay_source = 'backoff';
  for (const transition of upgraded.history) {
    transition.type ??= 'simulated';
    transition.delay_source ??= transition.delay_ms === null ? null : 'backoff';
  }
  return upgraded;
}
