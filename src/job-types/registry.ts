/**
 * The job types the engine knows, each with its options resolved over the service-wide settings: what the
 * facade checks a submission's `type` against, what the attempt runner routes by, what `GET /types` shows.
 */
import type { BackoffOptions } from '../engine/backoff.js';
import { JobTypesError, PermanentError } from '../errors.js';
import type { Processor } from '../processors/processor.js';
import type { ProcessorRouter } from '../engine/attempt-runner.js';
import type { JobTypeDefinition, JobTypeKind } from './job-type.js';

/** `max_retries` of a submission that sets none, when its type sets none either (capped at MAX_RETRIES_LIMIT). */
export const DEFAULT_MAX_RETRIES = 3;

/** A type's options with every default applied: what its jobs actually get. */
export interface EffectiveOptions {
  /** For a submission that sets none. */
  max_retries: number;
  /** Attempt time limit, ms; 0 means none. */
  timeout_ms: number;
  backoff: { base_ms: number; max_ms: number; jitter_ms: number };
  /** At most this many of the type run at once; null: only WORKERS limits it. */
  concurrency: number | null;
  isolation: 'none' | 'thread';
}

/** The service-wide settings a type's own options fall back on. */
export interface TypeDefaults {
  /** The type of a submission that names none (DEFAULT_JOB_TYPE). */
  defaultType: string;
  /** `max_retries` of a submission that sets none, unless its type sets one. */
  maxRetries: number;
  /** MAX_RETRIES_LIMIT: a type's own default is capped here too. */
  maxRetriesLimit: number;
  /** JOB_TIMEOUT_MS. */
  timeoutMs: number;
  backoff: BackoffOptions;
}

export interface JobTypeInfo {
  name: string;
  kind: JobTypeKind;
  source: string;
  options: EffectiveOptions;
}

export interface JobTypes extends ProcessorRouter {
  readonly defaultType: string;
  /** Every type's name, sorted. */
  names(): string[];
  has(name: string): boolean;
  info(name: string): JobTypeInfo;
  backoffFor(name: string): BackoffOptions;
  /** The `concurrency` of every type that has one. */
  concurrencyLimits(): Record<string, number>;
  /** Releases what the processors hold (thread pools, sockets). */
  close(): Promise<void>;
}

/** Throws `JobTypesError` when the default type is not among the definitions. */
export function createJobTypes(definitions: readonly JobTypeDefinition[], defaults: TypeDefaults): JobTypes {
  const byName = new Map<string, { definition: JobTypeDefinition; info: JobTypeInfo; backoff: BackoffOptions }>();
  for (const definition of definitions) {
    const { options } = definition;
    const effective: EffectiveOptions = {
      max_retries: Math.min(options.max_retries ?? defaults.maxRetries, defaults.maxRetriesLimit),
      timeout_ms: options.timeout_ms ?? defaults.timeoutMs,
      backoff: {
        base_ms: options.backoff?.base_ms ?? defaults.backoff.baseMs,
        max_ms: options.backoff?.max_ms ?? defaults.backoff.maxMs,
        jitter_ms: options.backoff?.jitter_ms ?? defaults.backoff.jitterMs,
      },
      concurrency: options.concurrency ?? null,
      isolation: options.isolation ?? 'none',
    };
    byName.set(definition.name, {
      definition,
      info: { name: definition.name, kind: definition.kind, source: definition.source, options: effective },
      backoff: { baseMs: effective.backoff.base_ms, maxMs: effective.backoff.max_ms, jitterMs: effective.backoff.jitter_ms },
    });
  }
  const names = [...byName.keys()].sort();
  if (!byName.has(defaults.defaultType)) {
    throw new JobTypesError([`DEFAULT_JOB_TYPE=${defaults.defaultType}: no such job type; known: ${names.join(', ')}`]);
  }
  const entry = (name: string) => {
    const found = byName.get(name);
    // The facade refuses unknown types at submission, so only a record from another configuration gets here.
    if (!found) throw new JobTypesError([`no job type ${JSON.stringify(name)}; known: ${names.join(', ')}`]);
    return found;
  };
  const limits: Record<string, number> = {};
  for (const [name, { info }] of byName) if (info.options.concurrency !== null) limits[name] = info.options.concurrency;

  return {
    defaultType: defaults.defaultType,
    names: () => [...names],
    has: (name) => byName.has(name),
    info: (name) => entry(name).info,
    backoffFor: (name) => (byName.get(name) ?? entry(defaults.defaultType)).backoff,
    processorFor: (name): Processor => byName.get(name)?.definition.processor ?? unknownTypeProcessor(names),
    timeoutFor: (name) => (byName.get(name) ?? entry(defaults.defaultType)).info.options.timeout_ms,
    concurrencyLimits: () => ({ ...limits }),
    async close() {
      await Promise.all([...byName.values()].map(({ definition }) => definition.close?.()));
    },
  };
}

/**
 * The processor of a job whose type this configuration does not have (restored from a store written under
 * another one): its attempt fails at once, without retries; an operator's retry after a restart that brings
 * the type back runs it.
 */
function unknownTypeProcessor(names: string[]): Processor {
  return (job) =>
    Promise.reject(new PermanentError(`no job type ${JSON.stringify(job.type)} is configured; known: ${names.join(', ')}`));
}
