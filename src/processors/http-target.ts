/**
 * The HTTP target processor: a job type whose worker is a remote endpoint (as Google Cloud Tasks or QStash
 * deliver). Each attempt is one signed `POST` (Standard Webhooks); the response status decides success, a
 * retry (with the receiver's `Retry-After` when it gives one) or a permanent failure.
 */
import { createHmac } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import { PermanentError, RetryLaterError } from '../errors.js';
import type { Processor, ProcessorJob } from './processor.js';

export interface HttpTargetOptions {
  /** The type's name (for messages). */
  type: string;
  /** The target URL, `http:` or `https:`; it comes only from the operator's types file, never from a job. */
  url: string;
  /** Extra request headers (already resolved, secrets included). They cannot override the signature headers. */
  headers: Record<string, string>;
  /** The Standard Webhooks secret, `whsec_` + base64 (the bytes after the prefix are the HMAC key). */
  secret: string;
  /** Cap on a Retry-After delay, ms. */
  retryAfterMaxMs: number;
  /** Epoch ms; default Date.now (tests inject the fake clock). Signs the timestamp and resolves HTTP-date Retry-After. */
  now?: () => number;
  /**
   * The most sockets the target's pool opens: the most attempts of the type that can run at once (its
   * `concurrency` within WORKERS). Default: no limit.
   */
  connections?: number;
}

export interface HttpTarget {
  processor: Processor;
  /** Closes the keep-alive sockets once in-flight requests finish; at shutdown. Idempotent. */
  close(): Promise<void>;
}

/** How much of a response body an error message quotes, characters. */
const SNIPPET_CHARS = 200;
/** An error response's body is kept up to this many bytes (enough for the snippet in any encoding)... */
const ERROR_KEEP_BYTES = 1024;
/** ...and drained up to this many more so its socket can be reused; a larger one is destroyed instead. */
const ERROR_DRAIN_BYTES = 64 * 1024;
/** Statuses that say "try again": timeout, too early, rate limited; plus every 5xx. */
const RETRYABLE_STATUSES = new Set([408, 425, 429]);
const WHSEC_PREFIX = 'whsec_';
/** `Sun, 06 Nov 1994 08:49:37 GMT`. */
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

export function createHttpTarget(options: HttpTargetOptions): HttpTarget {
  const { type, retryAfterMaxMs } = options;
  const now = options.now ?? Date.now;
  const url = parseTargetUrl(options.url, type);
  const key = decodeSecret(options.secret, type);
  // Lowercased so `Content-Type` in the types file cannot sneak in beside ours as a second header.
  const extraHeaders = Object.fromEntries(Object.entries(options.headers).map(([k, v]) => [k.toLowerCase(), v]));
  // One Agent per target: each type's sockets are its own pool, so `close()` (JobTypeDefinition.close) releases
  // exactly them, and one slow target cannot hold connections another needs. Undici's own header/body timeouts
  // (300 s by default) are off: the attempt's time limit is the type's `timeout_ms`, which the engine enforces
  // through the signal; two limits would make the smaller one a hidden cap.
  // `connections`: undici reuses a freed socket only on the next turn, so without a cap a busy target keeps
  // opening sockets beyond its attempts in flight; capped, a request waits that turn for one instead (about 6%
  // more jobs/s in alternating ad-hoc runs of row 7's load).
  const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0, connections: options.connections ?? null });

  const processor: Processor = async (job, { signal }) => {
    const body = requestBody(job);
    const timestamp = Math.floor(now() / 1000);
    const messageId = webhookId(job.id);
    const signature = createHmac('sha256', key).update(`${messageId}.${timestamp}.${body}`).digest('base64');
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: 'POST',
        dispatcher: agent,
        signal,
        body,
        headers: {
          ...extraHeaders,
          'content-type': 'application/json',
          // The job id, the same on every attempt, so the receiver can drop a duplicate delivery.
          'webhook-id': messageId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': `v1,${signature}`,
        },
      });
    } catch (error) {
      throw requestFailure(error, signal, type);
    }
    // An abort while the body streams in errors the body with the signal's reason (undici's doing; tested).
    return outcome(response, type, retryAfterMaxMs, now);
  };

  // Memoized: a second `close()` (an embedder's own cleanup after the service's) gets the first one's promise
  // instead of undici's "client is destroyed" rejection.
  let closing: Promise<void> | undefined;
  return { processor, close: () => (closing ??= agent.close()) };
}

/**
 * The `webhook-id` of a job: its id, percent-encoded when it holds `%` or anything beyond ASCII. A header value
 * cannot carry most of Unicode (which a job id may hold), and encoding only such ids keeps this one-to-one: an
 * encoded id always contains `%`, an id left as it is never does. The body carries the id as it is.
 */
function webhookId(id: string): string {
  return /^[\x20-\x24\x26-\x7e]*$/.test(id) ? id : encodeURIComponent(id);
}

/** The JSON body, keys in a fixed order so receivers (and their signature checks) see one shape. */
function requestBody(job: ProcessorJob): string {
  const { id, type, payload, attempt, max_retries } = job;
  return JSON.stringify({ id, type, payload, attempt, max_retries });
}

async function outcome(response: Dispatcher.ResponseData, type: string, capMs: number, now: () => number) {
  const { statusCode, headers, body } = response;
  if (statusCode >= 200 && statusCode < 300) {
    const text = await body.text();
    if (text === '') return null;
    if (!isJson(headers['content-type'])) return text;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // The receiver said it did the work; a retry would do it twice. Keep what it sent.
      return text;
    }
  }
  const message = `HTTP ${statusCode} from ${type} target${snippet(await readErrorBody(body))}`;
  if (!RETRYABLE_STATUSES.has(statusCode) && statusCode < 500) throw new PermanentError(message);
  const delayMs = retryAfterMs(headers['retry-after'], now());
  throw delayMs === undefined ? new Error(message) : new RetryLaterError(message, Math.min(capMs, delayMs));
}

/** A failed request (no response): the signal's reason when it was the abort, else a retryable error naming the code. */
function requestFailure(error: unknown, signal: AbortSignal, type: string): unknown {
  if (signal.aborted) return signal.reason;
  const code = errorCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  // Undici refuses a malformed header before any connection: the types file is wrong, and no retry will fix it.
  if (code === 'UND_ERR_INVALID_ARG') return new PermanentError(`Invalid request to ${type} target: ${detail}`);
  return new Error(`Cannot reach ${type} target: ${code ?? 'error'} (${detail})`);
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // A connect failure can arrive wrapped (e.g. an AggregateError from happy-eyeballs); its cause has the code.
  return 'cause' in error ? errorCode(error.cause) : undefined;
}

/** `application/json` or any `+json` type (`application/problem+json`), parameters ignored. */
function isJson(contentType: string | string[] | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  const media = value?.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return media === 'application/json' || media.endsWith('+json');
}

/**
 * A `Retry-After` as ms from `nowMs`: delta-seconds or an HTTP-date, never negative; undefined when absent or
 * unreadable (the engine's backoff applies then).
 */
function retryAfterMs(header: string | string[] | undefined, nowMs: number): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // Only an HTTP date as RFC 9110 writes it (IMF-fixdate): Date.parse also takes "1.5" or "-1" as dates in 2001,
  // which would turn a malformed header into an immediate retry.
  if (!HTTP_DATE.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * The start of an error body, then the rest drained so undici returns the socket to the pool; a body larger
 * than the drain budget is destroyed instead (its socket is lost, but no attempt reads megabytes of an error).
 */
async function readErrorBody(body: Dispatcher.ResponseData['body']): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let seenBytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    seenBytes += chunk.length;
    if (keptBytes < ERROR_KEEP_BYTES) {
      kept.push(chunk);
      keptBytes += chunk.length;
    }
    if (seenBytes > ERROR_KEEP_BYTES + ERROR_DRAIN_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(kept).subarray(0, ERROR_KEEP_BYTES).toString('utf8');
}

function snippet(text: string): string {
  return text === '' ? '' : `: ${text.slice(0, SNIPPET_CHARS)}`;
}

function parseTargetUrl(value: string, type: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`The ${type} target URL ${JSON.stringify(value)} is not a valid URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`The ${type} target URL must be http: or https:, got ${JSON.stringify(url.protocol)}.`);
  }
  return url;
}

/** The HMAC key: the base64 after `whsec_` (a bare base64 secret is accepted too, as `standardwebhooks` does). */
function decodeSecret(secret: string, type: string): Buffer {
  const encoded = secret.startsWith(WHSEC_PREFIX) ? secret.slice(WHSEC_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new TypeError(`The webhook secret for the ${type} target is empty or not base64.`);
  return key;
}
