/**
 * Thread isolation: a task module's handler run in a pool of worker threads (piscina) rather than on the event
 * loop, so CPU-bound work cannot delay timers, HTTP requests and the other jobs. One pool per job type.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Processor } from '../processors/processor.js';
import type { ThreadData, ThreadOutcome, ThreadTask, ThrownError } from './thread-worker.js';

export interface ThreadPoolOptions {
  /** The job type, for messages and log lines. */
  type: string;
  /** The task module's file (absolute, or relative to the working directory). */
  file: string;
  /** The most threads the pool starts, ≥ 1: the type's `concurrency`, else WORKERS. */
  maxThreads: number;
  /**
   * The service's logger: refused progress values and thread errors outside any attempt are logged here, and
   * the threads' own loggers (the handlers' `ctx.log`) take its level.
   */
  logger: Logger;
}

export interface ThreadPool {
  processor: Processor;
  /** Terminates the threads; attempts still running fail. Call once, at shutdown. */
  close(): Promise<void>;
}

/** How long a thread beyond the first may idle before it ends, ms: a burst's threads stay warm for the next one. */
const IDLE_TIMEOUT_MS = 30_000;

/**
 * Creates the pool, with one thread started at once (so the first job does not wait for a thread to boot) and up
 * to `maxThreads` on demand. An attempt's abort (timeout, cancel, shutdown) terminates its thread, and the
 * attempt rejects with the signal's reason; a thread that dies (`process.exit`, an uncaught error) fails its
 * attempt with a plain, retryable Error, and the pool starts another.
 */
export function createThreadPool({ type, file, maxThreads, logger }: ThreadPoolOptions): ThreadPool {
  // The level is the service logger's own, LOG_LEVEL, so one createLogger accepts.
  const workerData: ThreadData = { moduleUrl: pathToFileURL(file).href, logLevel: logger.level as Config['logLevel'] };
  const pool = new Piscina<ThreadTask, ThreadOutcome>({
    filename: workerFile(),
    minThreads: 1,
    maxThreads,
    idleTimeout: IDLE_TIMEOUT_MS,
    // Piscina's default parks an idle thread in Atomics.wait, which stops its event loop: the module's import,
    // begun when the thread starts, would stall until the first job, and a handler's leftover timers with it.
    atomics: 'disabled',
    workerData,
  });
  // Piscina emits 'error' for a thread that fails while it runs no task; unheard, the event would end the process.
  pool.on('error', (error: unknown) => logger.error({ err: error, type }, 'task thread failed outside any job'));
  let closed = false;

  const processor: Processor = async (job, ctx) => {
    const { signal } = ctx;
    const report = (value: unknown) => {
      try {
        ctx.progress(value);
      } catch (error) {
        // The handler's call returned long ago, in its thread: the refusal can only be logged.
        logger.warn({ err: error, job_id: job.id, type }, 'progress value from a task thread refused');
      }
    };
    const { port1, port2 } = new MessageChannel();
    port1.on('message', report);
    const task: ThreadTask = {
      id: job.id,
      type: job.type,
      attempt: job.attempt,
      payload: job.payload,
      progressPort: port2,
    };
    try {
      let outcome: ThreadOutcome;
      try {
        outcome = await pool.run(task, { signal, transferList: [port2] });
      } catch (error) {
        throw runFailure(error, signal, type, closed);
      }
      // Progress posted just before the handler returned may still sit on the port: it goes first.
      drain(port1, report);
      if (outcome.ok) return outcome.value;
      throw rebuilt(outcome.error);
    } finally {
      port1.close();
    }
  };

  return {
    processor,
    async close() {
      closed = true;
      await pool.destroy();
    },
  };
}

/** The worker entry beside this file: `.ts` when run from source (tsx), `.js` when compiled into `dist/`. */
function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const own = extname(here);
  const candidates = [own, own === '.ts' ? '.js' : '.ts'].map((ext) => join(dirname(here), `thread-worker${ext}`));
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) throw new Error(`no task thread entry: none of ${candidates.join(', ')} exists`);
  return found;
}

/** Why `pool.run` rejected: the handler never makes it reject (its errors come back as an outcome). */
function runFailure(error: unknown, signal: AbortSignal, type: string, closed: boolean): unknown {
  // Piscina rejects an aborted task with its own AbortError; the engine expects the reason it aborted with.
  if (signal.aborted) return signal.reason;
  if (closed) return new Error(`the thread pool of job type ${JSON.stringify(type)} is closed`);
  return new Error(`the task thread crashed: ${error instanceof Error ? error.message : String(error)}`);
}

function drain(port: MessagePort, report: (value: unknown) => void): void {
  for (let entry = receiveMessageOnPort(port); entry !== undefined; entry = receiveMessageOnPort(port)) {
    report(entry.message);
  }
}

/**
 * The handler's error as the engine reads it: an Error with its name and message (a `PermanentError` skips the
 * retries by name) and a `RetryLaterError`'s `retryAfterMs`.
 */
function rebuilt({ name, message, stack, retryAfterMs }: ThrownError): Error {
  const error: Error & { retryAfterMs?: number } = new Error(message);
  error.name = name;
  if (stack !== undefined) error.stack = stack;
  if (retryAfterMs !== undefined) error.retryAfterMs = retryAfterMs;
  return error;
}
