/**
 * Example task module: the job type `gzip-size` (named after this file). Run the service with
 * `TASKS_DIR=examples/tasks` and submit `{"type": "gzip-size", "payload": {...any JSON...}}`: the result says
 * how well the payload compresses.
 *
 * Compression here is asynchronous (zlib runs in libuv's thread pool), so the handler stays on the event loop;
 * compare `busy-loop.ts`, whose work would block it.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { PermanentError, type JobTypeOptions, type TaskContext } from 'xstate-job-service';

const gzipAsync = promisify(gzip);

/** Compressing the same bytes again gives the same answer: one retry is plenty. */
export const options = { max_retries: 1, timeout_ms: 5_000 } satisfies JobTypeOptions;

export interface GzipSizeResult {
  /** The payload's size as JSON, bytes. */
  bytes: number;
  /** Its size gzipped, bytes. */
  gzipped_bytes: number;
  /** SHA-256 of the JSON bytes, hex. */
  sha256: string;
}

export default async function gzipSize(payload: unknown, ctx: TaskContext): Promise<GzipSizeResult> {
  if (payload === undefined || payload === null) {
    // No retry would make a payload appear: fail the job now.
    throw new PermanentError('gzip-size needs a payload: the JSON value to measure');
  }
  const json = Buffer.from(JSON.stringify(payload));
  ctx.progress({ stage: 'compressing', bytes: json.length });
  const gzipped = await gzipAsync(json);
  ctx.signal.throwIfAborted(); // timed out or cancelled while compressing: the result is no longer wanted
  ctx.progress({ stage: 'hashing', bytes: json.length });
  const sha256 = createHash('sha256').update(json).digest('hex');
  ctx.log.debug({ bytes: json.length, gzipped_bytes: gzipped.length }, 'payload measured');
  return { bytes: json.length, gzipped_bytes: gzipped.length, sha256 };
}
