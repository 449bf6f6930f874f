/**
 * A job type: the name a job carries (`type`), the processor that runs its attempts, and the options that
 * shape its retries, its time limit and how many of it run at once. The service knows a fixed set of types,
 * built at start from three sources: the built-in `simulated` (the original service's processor), task
 * modules (`TASKS_DIR`) and HTTP targets (`JOB_TYPES_FILE`); a program embedding the service passes its own.
 */
import { z } from 'zod';
import type { Processor } from '../processors/processor.js';

/** 1–64 characters, a lowercase letter or digit first, then letters, digits, `.`, `_` or `-`. */
export const JOB_TYPE_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
export const JOB_TYPE_MAX_LENGTH = 64;

export const jobTypeNameSchema = z
  .string({ error: 'Must be a string.' })
  .min(1, { error: `Must be 1–${JOB_TYPE_MAX_LENGTH} characters.` })
  .max(JOB_TYPE_MAX_LENGTH, { error: `Must be 1–${JOB_TYPE_MAX_LENGTH} characters.` })
  .regex(JOB_TYPE_PATTERN, {
    error: 'Must start with a lowercase letter or digit, followed by lowercase letters, digits, ".", "_" or "-".',
  });

/** Where a type's attempts run. */
export type JobTypeKind = 'simulated' | 'module' | 'http';

const DAY_MS = 86_400_000;
const ms = z.number().int().min(0).max(DAY_MS);

/**
 * A type's own options, as a task module's `export const options` or a `JOB_TYPES_FILE` entry gives them.
 * Every one is optional; a missing one falls back to the service-wide setting named beside it.
 */
export const jobTypeOptionsSchema = z.strictObject({
  /** The `max_retries` of a job of this type that does not set its own (default 3, at most MAX_RETRIES_LIMIT). */
  max_retries: z.number().int().min(0).max(1000).optional(),
  /** The attempt time limit, ms; 0 means none. Default JOB_TIMEOUT_MS. */
  timeout_ms: ms.optional(),
  /** The retry delays, ms: `min(max_ms, base_ms · 2^(retry−1))` plus a uniform jitter in `[0, jitter_ms]`. */
  backoff: z
    .strictObject({ base_ms: ms.optional(), max_ms: ms.optional(), jitter_ms: ms.optional() })
    .optional(),
  /** At most this many jobs of the type run at once, within WORKERS. Default: no limit but WORKERS. */
  concurrency: z.number().int().min(1).max(1024).optional(),
  /** `thread` runs a task module's handler in a worker-thread pool, off the event loop. Default `none`. */
  isolation: z.enum(['none', 'thread']).optional(),
});

export type JobTypeOptions = z.output<typeof jobTypeOptionsSchema>;

/** A type as the engine runs it. */
export interface JobTypeDefinition {
  name: string;
  kind: JobTypeKind;
  options: JobTypeOptions;
  processor: Processor;
  /** Where it was defined, for messages and `GET /types`: a module's file, the types file, or `built-in`. */
  source: string;
  /** Releases what the processor holds (a thread pool, keep-alive sockets); called once at shutdown. */
  close?(): Promise<void>;
}
