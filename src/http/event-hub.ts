/**
 * The fan-out behind `GET /events`: one subscription to the queue for all clients, each message serialised
 * once and the same bytes written to every client that wants it, and three bounds so that clients cannot
 * exhaust the service:
 * - at most `maxStreams` clients (MAX_EVENT_STREAMS): one more is refused with 503 `too_many_streams`;
 * - per client, `maxBufferBytes` of unsent bytes: past it, that client is cut (its socket destroyed);
 * - for all clients together, `maxTotalBufferBytes`: past it, the clients with the most unsent bytes (the
 *   slowest readers) are cut first, until the total is back within the bound.
 * A cut client's `EventSource` reconnects by itself, and can reload what it missed from `GET /jobs`.
 *
 * The queue subscription and the heartbeat timer exist only while at least one client is open.
 */
import { errors } from '../errors.js';
import type { JobState, Transition } from '../engine/job-record.js';
import type { JobQueue, ProgressEvent } from '../engine/job-queue.types.js';
import { iso } from './job-view.js';

/** How often a heartbeat comment is sent, in ms: 15 s. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Bytes that may wait for one client before it is disconnected: 1 MiB (a few thousand transitions). */
export const DEFAULT_MAX_BUFFER_BYTES = 1024 * 1024;
/** Bytes that may wait for all clients together: 16 MiB. */
export const DEFAULT_MAX_TOTAL_BUFFER_BYTES = 16 * 1024 * 1024;

/** What the hub needs of a client's response: node's `ServerResponse` has it all. */
export interface StreamSink {
  /** Bytes written and not yet taken by the socket. */
  readonly writableLength: number;
  write(chunk: Buffer): unknown;
  end(): unknown;
  destroy(): unknown;
}

/** Which messages a client wants: `?job=` and `?state=` of `GET /events`. */
export interface StreamFilter {
  job?: string;
  state?: JobState;
}

export interface EventHubOptions {
  /** Clients open at once (MAX_EVENT_STREAMS). */
  maxStreams: number;
  /** Interval of the heartbeat comment, in ms. Default 15 000. */
  heartbeatMs?: number;
  /** Unsent bytes one client may accumulate before it is cut. Default 1 MiB. */
  maxBufferBytes?: number;
  /** Unsent bytes all clients together may accumulate; the slowest are cut first. Default 16 MiB. */
  maxTotalBufferBytes?: number;
}

export interface EventHub {
  /** Open clients right now. */
  readonly size: number;
  /**
   * Adds a client; throws `too_many_streams` when `maxStreams` are open (check before sending any header).
   * Returns the function to call when the client goes away.
   */
  add(sink: StreamSink, filter: StreamFilter): () => void;
  /** Ends every open stream (each client sees the end of its response). */
  closeAll(): void;
}

interface Client {
  sink: StreamSink;
  filter: StreamFilter;
}

const HEARTBEAT = Buffer.from(': heartbeat\n\n');

/** A transition as the API shows it: `at` in ISO-8601 UTC. */
export function transitionView(t: Transition) {
  return {
    id: t.id,
    type: t.type,
    from: t.from,
    to: t.to,
    event: t.event,
    at: iso(t.at),
    attempt: t.attempt,
    error: t.error,
    delay_ms: t.delay_ms,
    delay_source: t.delay_source,
  };
}

/** A progress report as the API shows it (`event: progress`). */
export function progressView(p: ProgressEvent) {
  return { id: p.id, type: p.type, progress: p.progress, at: iso(p.at) };
}

const message = (event: string, data: unknown) => Buffer.from(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

export function createEventHub(queue: Pick<JobQueue, 'on'>, options: EventHubOptions): EventHub {
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const maxBufferBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  const maxTotalBufferBytes = options.maxTotalBufferBytes ?? DEFAULT_MAX_TOTAL_BUFFER_BYTES;
  const clients = new Set<Client>();
  let stop: (() => void) | null = null;

  function start() {
    const offTransition = queue.on('transition', (t) =>
      broadcast((f) => (f.job === undefined || f.job === t.id) && (f.state === undefined || f.state === t.to), () =>
        message('transition', transitionView(t)),
      ),
    );
    // Progress comes only from running jobs, so a filter on any other state leaves it out.
    const offProgress = queue.on('progress', (p) =>
      broadcast((f) => (f.job === undefined || f.job === p.id) && (f.state === undefined || f.state === 'running'), () =>
        message('progress', progressView(p)),
      ),
    );
    const heartbeat = setInterval(() => broadcast(() => true, () => HEARTBEAT), heartbeatMs);
    stop = () => {
      offTransition();
      offProgress();
      clearInterval(heartbeat);
      stop = null;
    };
  }

  function remove(client: Client) {
    if (!clients.delete(client)) return;
    if (clients.size === 0) stop?.();
  }

  function cut(client: Client) {
    remove(client);
    client.sink.destroy();
  }

  /** Writes one message to the clients `wants` picks; it is serialised at most once, and only if one does. */
  function broadcast(wants: (filter: StreamFilter) => boolean, serialise: () => Buffer) {
    let chunk: Buffer | undefined;
    for (const client of [...clients]) {
      if (!wants(client.filter)) continue;
      chunk ??= serialise();
      // writableLength counts what the socket has not taken yet: past the limit, the client is not keeping up.
      if (client.sink.writableLength + chunk.length > maxBufferBytes) cut(client);
      else client.sink.write(chunk);
    }
    if (chunk) enforceTotal();
  }

  function enforceTotal() {
    let total = 0;
    for (const client of clients) total += client.sink.writableLength;
    if (total <= maxTotalBufferBytes) return;
    const slowestFirst = [...clients].sort((a, b) => b.sink.writableLength - a.sink.writableLength);
    for (const client of slowestFirst) {
      if (total <= maxTotalBufferBytes) break;
      total -= client.sink.writableLength;
      cut(client);
    }
  }

  return {
    get size() {
      return clients.size;
    },
    add(sink, filter) {
      if (clients.size >= options.maxStreams) throw errors.tooManyStreams(options.maxStreams);
      const client = { sink, filter };
      clients.add(client);
      if (!stop) start();
      return () => remove(client);
    },
    closeAll() {
      for (const client of [...clients]) {
        remove(client);
        client.sink.end();
      }
    },
  };
}
