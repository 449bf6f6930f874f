import { errors } from '../errors.js';
import { Fifo } from '../fifo.js';
import { isFinished, JOB_STATES, type JobRecord, type JobState } from '../job-record.js';
import type { JobStore, StoreListQuery, StorePage } from './job-store.js';

export interface MemoryStoreOptions {
  /** Finished records kept; beyond it the oldest finished is evicted. Unfinished records are never evicted. */
  retention: number;
}

/**
 * Records in memory; nothing survives the process. Submission order is kept as a sequence number per record, and `bySeq` holds the records
 * in that order (with holes where records were evicted), so a page of the newest-first list walks back from
 * its cursor instead of sorting everything.
 */
export function createMemoryStore(options: MemoryStoreOptions): JobStore {
  const seqById = new Map<string, number>();
  const bySeq: (JobRecord | undefined)[] = [];
  let firstSeq = 0; // the sequence number of bySeq[0]
  let holes = 0;
  const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
  /** Ids in the order they finished: the eviction order. */
  const finishedOrder = new Fifo<string>();

  function evictBeyondRetention() {
    while (counts.done + counts.failed > options.retention && finishedOrder.length > 0) {
      const id = finishedOrder.shift()!;
      const seq = seqById.get(id);
      const record = seq === undefined ? undefined : bySeq[seq - firstSeq];
      if (!record || !isFinished(record.state)) continue;
      counts[record.state]--;
      seqById.delete(id);
      bySeq[seq! - firstSeq] = undefined;
      holes++;
    }
    if (holes > 1024 && holes * 2 > bySeq.length) compact();
  }

  // Drops the holes in front, where eviction makes most of them, keeping sequence numbers (cursors) stable.
  function compact() {
    let drop = 0;
    while (drop < bySeq.length && bySeq[drop] === undefined) drop++;
    bySeq.splice(0, drop);
    firstSeq += drop;
    holes -= drop;
  }

  return {
    durable: false,

    // `from` is trusted rather than read from the stored record, because the engine updates its records in place.
    save(record, from) {
      const seq = seqById.get(record.id);
      if (seq === undefined) {
        seqById.set(record.id, firstSeq + bySeq.length);
        bySeq.push(record);
      } else {
        bySeq[seq - firstSeq] = record;
      }
      if (from !== null) counts[from]--;
      counts[record.state]++;
      if (isFinished(record.state) && (from === null || !isFinished(from))) {
        finishedOrder.push(record.id);
        evictBeyondRetention();
      }
    },

    get(id) {
      const seq = seqById.get(id);
      return seq === undefined ? undefined : bySeq[seq - firstSeq];
    },

    list({ state, limit, cursor }: StoreListQuery): StorePage {
      let index = bySeq.length - 1;
      if (cursor !== undefined) {
        if (!/^\d{1,15}$/.test(cursor)) throw errors.validationFailed({ cursor: ['Not a cursor this server issued.'] });
        index = Math.min(index, Number(cursor) - 1 - firstSeq);
      }
      const jobs: JobRecord[] = [];
      for (; index >= 0; index--) {
        const record = bySeq[index];
        if (!record || (state && record.state !== state)) continue;
        if (jobs.length === limit) return { jobs, next_cursor: String(firstSeq + index + 1) };
        jobs.push(record);
      }
      return { jobs, next_cursor: null };
    },

    counts() {
      return { ...counts };
    },

    unfinished() {
      return bySeq.filter((record): record is JobRecord => record !== undefined && !isFinished(record.state));
    },

    flush: () => Promise.resolve(),

    close: () => Promise.resolve(),
  };
}
