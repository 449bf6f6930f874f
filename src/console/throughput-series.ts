/**
 * The service's throughput over the last 15 minutes, one point a second, kept in a ring buffer of fixed size
 * (`GET /stats/series`): jobs submitted, done and failed in each second, counted from the queue's transitions,
 * and the queue depth (queued jobs) and busy workers as last sampled in that second.
 *
 * Depth and busy workers change only with a transition, so they are sampled after transitions, at most once
 * per SAMPLE_EVERY_MS, and carried forward through the quiet seconds: an idle service costs no work at all.
 */
import type { JobQueue } from '../engine/job-queue.types.js';

/** How many seconds the series keeps: 15 minutes. */
export const SERIES_SECONDS = 900;
/** The least time between two samples of the depth and the busy workers, in ms. */
export const SAMPLE_EVERY_MS = 250;

export interface SeriesSnapshot {
  interval_ms: 1000;
  /** The start of each second, epoch seconds, oldest first; the last one is the current (partial) second. */
  seconds: number[];
  submitted: number[];
  done: number[];
  failed: number[];
  /** Queued jobs, as last sampled in or before that second; null before the first sample. */
  queue_depth: (number | null)[];
  busy_workers: (number | null)[];
}

export interface ThroughputSeries {
  snapshot(): SeriesSnapshot;
  /** Stops listening to the queue, and any sample waiting. */
  stop(): void;
}

/** The per-second columns of the ring, indexed by `second % SERIES_SECONDS`. */
interface Ring {
  second: Float64Array;
  submitted: Uint32Array;
  done: Uint32Array;
  failed: Uint32Array;
  depth: Float64Array;
  busy: Float64Array;
}

function createRing(size: number): Ring {
  return {
    second: new Float64Array(size).fill(-1),
    submitted: new Uint32Array(size),
    done: new Uint32Array(size),
    failed: new Uint32Array(size),
    depth: new Float64Array(size).fill(NaN),
    busy: new Float64Array(size).fill(NaN),
  };
}

export function createThroughputSeries(queue: JobQueue, now: () => number = Date.now): ThroughputSeries {
  const size = SERIES_SECONDS;
  const ring = createRing(size);
  const startSecond = Math.floor(now() / 1000);
  let sampleTimer: ReturnType<typeof setTimeout> | undefined;
  let lastSampleAt = -Infinity;
  /** The latest levels a slot held when it was reused: where a window whose first seconds had none starts. */
  const evicted = { depth: null as number | null, busy: null as number | null };

  /** The ring's slot of the current second, cleared when it last held an older second. */
  function slotNow(): number {
    const second = Math.floor(now() / 1000);
    const slot = second % size;
    if (ring.second[slot] !== second) {
      if (!Number.isNaN(ring.depth[slot])) evicted.depth = ring.depth[slot]!;
      if (!Number.isNaN(ring.busy[slot])) evicted.busy = ring.busy[slot]!;
      ring.second[slot] = second;
      ring.submitted[slot] = ring.done[slot] = ring.failed[slot] = 0;
      ring.depth[slot] = ring.busy[slot] = NaN;
    }
    return slot;
  }

  async function sample() {
    sampleTimer = undefined;
    lastSampleAt = now();
    // The levels alone: `stats()` also reads the per-type counts and the oldest waiting per priority (a
    // commit of SQLite's write buffer, a recursive query on PostgreSQL), up to 4 times a second while jobs move.
    const { queued, busy } = await queue.levels();
    const slot = slotNow();
    ring.depth[slot] = queued;
    ring.busy[slot] = busy;
  }

  function sampleSoon() {
    if (sampleTimer !== undefined) return;
    const wait = Math.max(0, lastSampleAt + SAMPLE_EVERY_MS - now());
    sampleTimer = setTimeout(() => void sample().catch(() => {}), wait);
    sampleTimer.unref?.();
  }

  const off = queue.on('transition', (transition) => {
    const slot = slotNow();
    if (transition.from === null) ring.submitted[slot]!++;
    else if (transition.to === 'done') ring.done[slot]!++;
    else if (transition.to === 'failed') ring.failed[slot]!++;
    sampleSoon();
  });
  // The first point: what the queue holds when the series starts (jobs taken back by a restart, say).
  sampleSoon();

  return {
    snapshot() {
      const last = Math.floor(now() / 1000);
      const first = Math.max(startSecond, last - size + 1);
      const snapshot: SeriesSnapshot = { interval_ms: 1000, seconds: [], submitted: [], done: [], failed: [], queue_depth: [], busy_workers: [] };
      // Carried into the window from the seconds before it, so that its first point has the level then.
      let { depth, busy } = evicted;
      for (let second = first; second <= last; second++) {
        const slot = second % size;
        const current = ring.second[slot] === second;
        ({ depth, busy } = levelsAt(ring, second, depth, busy));
        snapshot.seconds.push(second);
        snapshot.submitted.push(current ? ring.submitted[slot]! : 0);
        snapshot.done.push(current ? ring.done[slot]! : 0);
        snapshot.failed.push(current ? ring.failed[slot]! : 0);
        snapshot.queue_depth.push(depth);
        snapshot.busy_workers.push(busy);
      }
      return snapshot;
    },
    stop() {
      off();
      clearTimeout(sampleTimer);
    },
  };
}

/** The levels sampled in `second`, else the ones carried in. */
function levelsAt(ring: Ring, second: number, depth: number | null, busy: number | null) {
  const slot = second % ring.second.length;
  if (second < 0 || ring.second[slot] !== second) return { depth, busy };
  return {
    depth: Number.isNaN(ring.depth[slot]) ? depth : ring.depth[slot]!,
    busy: Number.isNaN(ring.busy[slot]) ? busy : ring.busy[slot]!,
  };
}
