/**
 * Group commit for a durable store: writes are buffered, keeping the latest entry per key (a job's record
 * carries its whole history, so its latest one is all that needs writing), and once per tick (setImmediate)
 * one `write` takes the whole buffer: a burst of transitions costs one transaction, not one fsync per job.
 *
 * `flush()` resolves once everything buffered before it is written. When a write fails (a full disk, an I/O
 * error) the flushes waiting on it reject with `storage_unavailable`, the entries stay buffered, and they are
 * written again at the next tick with a write, or after `retryMs` when nothing else comes: the store recovers
 * by itself once writes succeed, and an idle service never keeps finished jobs in memory only.
 */
import { errors } from '../errors.js';

export interface WriteBufferOptions<Entry> {
  /** Writes the entries in one transaction; throws when it failed (nothing of it is kept then). */
  write(entries: [string, Entry][]): void;
  /** After each successful write, with the entries written. */
  written?(entries: [string, Entry][]): void;
  /** After each failed write, with its error (the entries stay buffered). */
  failed?(error: unknown): void;
  /** How long after a failed write the buffer is written again when nothing triggers a write sooner, in ms. */
  retryMs: number;
}

export interface WriteBuffer<Entry> {
  get(key: string): Entry | undefined;
  has(key: string): boolean;
  /** Buffers the entry, replacing the key's previous one, and schedules a write. */
  set(key: string, entry: Entry): void;
  /** Forgets the key's buffered entry (it need not be written any more). */
  delete(key: string): void;
  readonly size: number;
  /** The buffered entries, oldest key first. */
  entries(): IterableIterator<[string, Entry]>;
  /** Resolves once everything buffered so far is written; rejects with `storage_unavailable`. */
  flush(): Promise<void>;
  /** Writes the buffer now, before a read that must see it; throws `storage_unavailable`. */
  writeNow(): void;
  /** Writes what is buffered one last time (throws when that fails) and stops every timer. */
  close(): void;
}

export function createWriteBuffer<Entry>(options: WriteBufferOptions<Entry>): WriteBuffer<Entry> {
  const pending = new Map<string, Entry>();
  /** The promise every `flush` since the last write waits on; settled by the next write. */
  let cycle: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } | null = null;
  let scheduled: NodeJS.Immediate | null = null;
  /** Set while a failed write waits to be tried again. */
  let retryTimer: NodeJS.Timeout | null = null;
  let closed = false;

  function schedule() {
    if (scheduled === null && !closed) scheduled = setImmediate(tick);
  }

  function tick() {
    scheduled = null;
    try {
      writeAll();
    } catch {
      // Already handed to the flush waiters; the entries are kept, and written again soon.
      if (retryTimer === null && !closed) {
        retryTimer = setTimeout(() => {
          retryTimer = null;
          schedule();
        }, options.retryMs);
        retryTimer.unref();
      }
    }
  }

  /** Writes the buffer in one transaction and settles the waiting flushes; throws storage_unavailable. */
  function writeAll() {
    const waiting = cycle;
    cycle = null;
    if (pending.size > 0) {
      const entries = [...pending];
      try {
        options.write(entries);
      } catch (error) {
        options.failed?.(error);
        const failure = errors.storageUnavailable(error instanceof Error ? error.message : String(error));
        waiting?.reject(failure);
        throw failure;
      }
      pending.clear();
      options.written?.(entries);
    }
    waiting?.resolve();
  }

  return {
    get: (key) => pending.get(key),
    has: (key) => pending.has(key),
    set(key, entry) {
      pending.set(key, entry);
      schedule();
    },
    delete(key) {
      pending.delete(key);
    },
    get size() {
      return pending.size;
    },
    entries: () => pending.entries(),
    flush() {
      if (pending.size === 0) return Promise.resolve();
      if (!cycle) {
        let resolve!: () => void;
        let reject!: (error: Error) => void;
        const promise = new Promise<void>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        cycle = { promise, resolve, reject };
      }
      schedule();
      return cycle.promise;
    },
    writeNow() {
      if (pending.size > 0) writeAll();
    },
    close() {
      if (closed) return;
      if (scheduled) clearImmediate(scheduled);
      scheduled = null;
      try {
        writeAll();
      } finally {
        closed = true;
        if (retryTimer) clearTimeout(retryTimer);
      }
    },
  };
}
