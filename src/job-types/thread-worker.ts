/**
 * The entry of a task thread: piscina loads it in each thread of a type's pool and calls its default export
 * once per attempt. It imports the task module as soon as the thread starts (so the first job does not wait
 * for it) and calls its handler.
 *
 * It never throws: the outcome comes back as a plain envelope, because an Error crossing the thread boundary
 * by structured clone loses its class and, unless it is a built-in one, its `name`, and the engine tells a
 * `PermanentError` or `RetryLaterError` by name. A rejection of `pool.run` therefore always means the thread
 * died or was terminated, never that the handler failed.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { jsonText } from '../json-text.js';
import { createLogger } from '../logger.js';
import type { TaskContext, TaskHandler, TaskModule } from './task-handler.js';

/** What every thread of a pool is started with (piscina's `workerData`). */
export interface ThreadData {
  /** The task module, as a `file:` URL. */
  moduleUrl: string;
  /** The level of the thread's logger (LOG_LEVEL). */
  logLevel: Config['logLevel'];
}

/** What the main thread sends for one attempt. */
export interface ThreadTask {
  id: string;
  type: string;
  attempt: number;
  payload: unknown;
  /** Where `ctx.progress` values go; transferred, and closed by the main thread when the attempt ends. */
  progressPort: MessagePort;
}

/** An error as it crosses back: what the engine reads of it. */
export interface ThrownError {
  name: string;
  message: string;
  stack?: string;
  /** A `RetryLaterError`'s delay, ms. */
  retryAfterMs?: number;
}

export type ThreadOutcome = { ok: true; value: unknown } | { ok: false; error: ThrownError };

const { moduleUrl, logLevel } = workerData as ThreadData;
// Lines go straight to file descriptor 1 with synchronous writes, which work from any thread.
const logger: Logger = createLogger(logLevel);
// Never aborts: an abort terminates the whole thread (piscina), so there is nothing for a handler to observe.
const neverAborted = new AbortController().signal;

let handler: Promise<TaskHandler> | undefined;
function handlerOf(): Promise<TaskHandler> {
  if (handler === undefined) {
    const loading = importTaskModule(moduleUrl).then((module) => module.default);
    // A failed import is tried again by the next attempt rather than failing every later one.
    loading.catch(() => {
      if (handler === loading) handler = undefined;
    });
    handler = loading;
  }
  return handler;
}
// Started now; an error surfaces in the first attempt (the main thread imported the module fine already).
handlerOf().catch(() => {});

export default async function runTask(task: ThreadTask): Promise<ThreadOutcome> {
  const { id, type, attempt, progressPort } = task;
  const ctx: TaskContext = {
    id,
    type,
    attempt,
    signal: neverAborted,
    log: logger.child({ job_id: id, type, attempt }),
    // Synchronous like the engine's: a value that cannot be cloned throws here, in the handler's own call.
    progress: (value) => progressPort.postMessage(value),
  };
  try {
    const value = await (await handlerOf())(task.payload, ctx);
    return { ok: true, value: crossable(value) };
  } catch (error) {
    return { ok: false, error: thrown(error) };
  }
}

/**
 * The result as it can cross to the main thread. A value structured clone cannot copy (one holding a function)
 * would crash the thread when piscina posts it; its JSON copy is what the engine would keep of it anyway (the
 * stored `result` is JSON), so that goes instead. A value JSON cannot write either fails the attempt.
 */
function crossable(value: unknown): unknown {
  try {
    structuredClone(value);
    return value;
  } catch {
    const json = jsonText(value);
    if (json === undefined) throw new TypeError("the handler's result can neither be cloned to the main thread nor written as JSON");
    return JSON.parse(json) as unknown;
  }
}

const TYPESCRIPT_FILE = /\.[cm]?ts$/;

/**
 * Imports the task module. A TypeScript one goes through tsx's `tsImport` when tsx is installed: on Node 20,
 * `--import tsx` (inherited by worker threads through execArgv) registers tsx's require hook in a thread but
 * not its ESM hooks, so a plain `import()` of a `.ts` file fails there with ERR_UNKNOWN_FILE_EXTENSION.
 * Without tsx (a production install) it is a plain `import()`, which works for `.js` and, on a Node that
 * strips types, for `.ts`.
 */
async function importTaskModule(url: string): Promise<TaskModule> {
  if (TYPESCRIPT_FILE.test(new URL(url).pathname)) {
    const tsx = await import('tsx/esm/api').catch(() => undefined);
    if (tsx !== undefined) return tsx.tsImport(url, url) as Promise<TaskModule>;
  }
  return import(url) as Promise<TaskModule>;
}

function thrown(error: unknown): ThrownError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { retryAfterMs } = error as Error & { retryAfterMs?: unknown };
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
  };
}
