/**
 * What the route tests share: a real server on an ephemeral port, over the real `createJobQueue`, with a
 * processor settled by hand and a clock that moves only when a test moves it. Nothing here sleeps.
 *
 * The store is the memory one, or with `TEST_STORE=sqlite` a SQLite file in a temp directory (deleted by
 * `stop()`): `test/store/routes-on-sqlite.test.ts` runs the route suites that way, so they pass on both.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { createApp } from '../../src/http/app.js';
import { createSchedules } from '../../src/engine/schedules.js';
import { clientErrorLogger } from '../../src/http/client-errors.js';
import { createHttpServer } from '../../src/http/http-server.js';
import { createJobQueue } from '../../src/engine/job-queue.js';
import type { JobState } from '../../src/engine/job-record.js';
import type { JobQueue } from '../../src/engine/job-queue.types.js';
import type { Processor } from '../../src/processors/processor.js';
import type { JobStore } from '../../src/store/job-store.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { openSqliteStore } from '../../src/store/sqlite-store.js';

/** The store the route tests run on: `memory` unless `TEST_STORE=sqlite`. */
export const TEST_STORE: 'memory' | 'sqlite' = process.env.TEST_STORE === 'sqlite' ? 'sqlite' : 'memory';

/** A fresh store of the TEST_STORE kind, and how to remove it. */
function testStore(retention: number): { store: JobStore; remove(): void } {
  if (TEST_STORE === 'memory') return { store: createMemoryStore({ retention }), remove: () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'routes-sqlite-'));
  const store = openSqliteStore({ path: join(dir, 'jobs.db'), retention });
  return { store, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The stubbed clock's start: 2026-01-02T03:04:05.006Z. */
export const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 6);
export const iso = (epochMs: number) => new Date(epochMs).toISOString();

/** The test configuration: the real defaults, then one worker, one waiting place and a 1 KiB body limit. */
export function testConfig(overrides: Partial<Config> = {}): Readonly<Config> {
  return Object.freeze({
    ...loadConfig({}),
    workers: 1,
    queueSize: 1,
    backoff: { baseMs: 60_000, maxMs: 60_000, jitterMs: 0 },
    maxBodyBytes: 1024,
    ...overrides,
  });
}

/**
 * A processor whose attempts stay pending until `succeed` or `fail`; an abort rejects them. On a durable store
 * an attempt starts only once its job's records are written, a tick after the job entered `running`: an
 * outcome given before its attempt has started is kept, and settles the attempt as soon as it starts.
 */
export function manualProcessor() {
  type Attempt = { resolve(): void; reject(error: Error): void };
  const pending = new Map<string, Attempt>();
  const early = new Map<string, (attempt: Attempt) => void>();
  const processor: Processor = (job, { signal }) =>
    new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      const attempt = { resolve: () => resolve(undefined), reject };
      const settle = early.get(job.id);
      early.delete(job.id);
      if (settle) settle(attempt);
      else pending.set(job.id, attempt);
    });
  const settle = (id: string, outcome: (attempt: Attempt) => void) => {
    const attempt = pending.get(id);
    pending.delete(id);
    if (attempt) outcome(attempt);
    else if (TEST_STORE === 'sqlite') early.set(id, outcome);
    else throw new Error(`no attempt of ${id} is running`);
  };
  return {
    processor,
    succeed: (id: string) => settle(id, (attempt) => attempt.resolve()),
    fail: (id: string, message: string) => settle(id, (attempt) => attempt.reject(new Error(message))),
  };
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  body: unknown;
}

export interface Service {
  config: Readonly<Config>;
  queue: JobQueue;
  work: ReturnType<typeof manualProcessor>;
  clock: { now(): number; advance(ms: number): void };
  /** Errors the job actors did not handle; a test may assert it stays empty. */
  engineErrors: unknown[];
  url(path: string): string;
  request(method: string, path: string, init?: RequestInit): Promise<Reply>;
  /** POSTs `body` (JSON-encoded unless it is already a string) as application/json. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Reply>;
  get(path: string): Promise<Reply>;
  /** Resolves when job `id` enters `state` (at once if it is there already). */
  reach(id: string, state: JobState): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  config?: Partial<Config>;
  logger?: Logger;
  /** Wraps the real queue, e.g. to make one method throw. */
  wrapQueue?: (queue: JobQueue) => JobQueue;
}

export async function startService(options: ServiceOptions = {}): Promise<Service> {
  const config = testConfig(options.config);
  let time = T0;
  const clock = { now: () => time, advance: (ms: number) => void (time += ms) };
  const work = manualProcessor();
  const engineErrors: unknown[] = [];
  const storage = testStore(config.jobRetention);
  const realQueue = createJobQueue(
    {
      workers: config.workers,
      queueSize: config.queueSize,
      backoff: config.backoff,
      jobTimeoutMs: 0,
      jobRetention: config.jobRetention,
      expectedWorkMs: 4000,
      scheduledLimit: config.scheduledLimit,
      maxDelayMs: config.maxDelayMs,
    },
    {
      processor: work.processor,
      store: storage.store,
      now: clock.now,
      random: () => 0,
      onError: (error) => engineErrors.push(error),
    },
  );
  const queue = options.wrapQueue ? options.wrapQueue(realQueue) : realQueue;
  // On the test's clock, over the test's store.
  const schedules = createSchedules({ queue: realQueue, store: storage.store, now: clock.now });
  const logger = options.logger ?? pino({ level: 'silent' });
  // As the service does (server.ts): its server, with its limits and its one client error log.
  const onClientError = clientErrorLogger(logger);
  const app = createApp({ queue, config, logger, schedules, onClientError, now: clock.now });
  const server: Server = createHttpServer(app.callback(), config.http, onClientError).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const request = async (method: string, path: string, init: RequestInit = {}): Promise<Reply> => {
    // Unless a test asks otherwise, each connection ends with its response: no idle keep-alive socket stays in
    // fetch's pool after the test (its timers could outlive the file and meet a later file's fake timers).
    const headers = new Headers(init.headers);
    if (!headers.has('connection')) headers.set('connection', 'close');
    // A client of the API, not a cross-site form: a write without a JSON body says so (request-guards.ts).
    // `X-Requested-With: ''` leaves the header out, to act as a form.
    if (!['GET', 'HEAD'].includes(method) && !headers.has('content-type') && !headers.has('x-requested-with')) {
      headers.set('x-requested-with', 'test');
    }
    if (headers.get('x-requested-with') === '') headers.delete('x-requested-with');
    const response = await fetch(base + path, { ...init, method, headers });
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, headers: response.headers, text, body };
  };

  return {
    config,
    queue,
    work,
    clock,
    engineErrors,
    url: (path) => base + path,
    request,
    post: (path, body, headers = {}) =>
      request('POST', path, {
        headers: { 'Content-Type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    get: (path) => request('GET', path),
    reach: (id, state) =>
      new Promise((resolve) => {
        const off = realQueue.on('transition', (transition) => {
          if (transition.id === id && transition.to === state) {
            off();
            resolve();
          }
        });
        void realQueue.get(id).then((record) => {
          if (record?.state !== state) return;
          off();
          resolve();
        });
      }),
    async stop() {
      // Aborts whatever is still pending, which also clears the backoff timers.
      schedules.stop();
      await realQueue.drain(0);
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      await storage.store.close();
      storage.remove();
    },
  };
}

/** The API view of a job the tests expect, with the defaults of a freshly queued one. */
export function view(fields: { id: string } & Partial<Record<string, unknown>>) {
  return {
    type: 'simulated',
    state: 'queued',
    payload: null,
    max_retries: 3,
    priority: 0,
    next_run_at: null,
    attempts: 0,
    last_error: null,
    result: null,
    result_error: null,
    result_bytes: null,
    progress: null,
    created_at: iso(T0),
    updated_at: iso(T0),
    started_at: null,
    finished_at: null,
    next_retry_at: null,
    ...fields,
  };
}

/** An open `GET /events` response, read as text as it arrives. */
export async function openEventStream(url: string) {
  const abort = new AbortController();
  const response = await fetch(url, { signal: abort.signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  return {
    response,
    text: () => text,
    /** Reads until `predicate(text)` holds; resolves to false if the stream ends first. */
    async until(predicate: (text: string) => boolean): Promise<boolean> {
      while (!predicate(text)) {
        const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (chunk.done) return false;
        text += decoder.decode(chunk.value, { stream: true });
      }
      return true;
    },
    close: () => abort.abort(),
  };
}
