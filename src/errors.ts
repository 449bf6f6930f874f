/**
 * The error catalogue: every error the service reports, with a stable `code`, its HTTP status and a message
 * a person can act on. The HTTP layer renders these as `{"error":{"code","message","details"}}`; anything
 * that is not a `ServiceError` becomes a generic 500 `internal`.
 */

export const ERROR_STATUS = {
  invalid_json: 400,
  validation_failed: 400,
  unknown_job_type: 400,
  unauthorized: 401,
  forbidden: 403,
  payload_too_large: 413,
  unsupported_media_type: 415,
  queue_full: 429,
  scheduled_full: 429,
  rate_limited: 429,
  duplicate_job: 409,
  not_cancellable: 409,
  not_retryable: 409,
  shutting_down: 503,
  storage_unavailable: 503,
  too_many_streams: 503,
  not_found: 404,
  host_not_allowed: 421,
  method_not_allowed: 405,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ServiceError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Extra response headers, e.g. `Retry-After` or `Allow`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ServiceError';
    this.status = ERROR_STATUS[code];
  }
}

export const errors = {
  invalidJson: (reason: string) =>
    new ServiceError('invalid_json', `The request body is not valid JSON: ${reason}`),
  validationFailed: (details: Record<string, string[]>) =>
    new ServiceError('validation_failed', 'The request does not match the expected shape; see details.', details),
  payloadTooLarge: (limitBytes: number) =>
    new ServiceError('payload_too_large', `The request body is larger than the limit of ${limitBytes} bytes.`),
  unsupportedMediaType: (contentType: string | undefined) =>
    new ServiceError(
      'unsupported_media_type',
      `Content-Type must be application/json, got ${contentType ? JSON.stringify(contentType) : 'none'}.`,
    ),
  unsupportedCharset: (charset: string) =>
    new ServiceError(
      'unsupported_media_type',
      `The body must be UTF-8, but Content-Type declares charset ${JSON.stringify(charset)}; send UTF-8, with charset=utf-8 or no charset.`,
    ),
  unsupportedEncoding: (encoding: string) =>
    new ServiceError(
      'unsupported_media_type',
      `Content-Encoding ${JSON.stringify(encoding)} is not supported; send the body as it is, or gzip, deflate or br.`,
    ),
  /** A state-changing request a cross-site HTML form could have sent (`request-guards.ts`). */
  formWriteRefused: (method: string) =>
    new ServiceError(
      'unsupported_media_type',
      `A ${method} must send Content-Type: application/json (with or without a body) or an X-Requested-With ` +
        'header, which a cross-site form cannot send; got neither.',
    ),
  hostNotAllowed: (host: string, allowed: string[]) =>
    new ServiceError(
      'host_not_allowed',
      `This service does not answer to the host ${host ? JSON.stringify(host) : '(none)'}; it answers to ${allowed.join(', ')}. ` +
        'Set ALLOWED_HOSTS to the names clients use.',
      { host, allowed },
    ),
  unknownJobType: (type: string, known: string[]) =>
    new ServiceError('unknown_job_type', `No job type ${JSON.stringify(type)}; known types: ${known.join(', ')}.`, {
      type,
      known_types: known,
    }),
  queueFull: (capacity: number, retryAfterSeconds: number) =>
    new ServiceError(
      'queue_full',
      `The queue is full (${capacity} unfinished jobs); retry in about ${retryAfterSeconds} s.`,
      { capacity, retry_after_seconds: retryAfterSeconds },
      { 'Retry-After': String(retryAfterSeconds) },
    ),
  scheduledFull: (limit: number, retryAfterSeconds: number) =>
    new ServiceError(
      'scheduled_full',
      `${limit} jobs are scheduled for later already (SCHEDULED_LIMIT); submit this one when more have come due ` +
        `(the next in about ${retryAfterSeconds} s), or without run_at and delay_ms to run it now.`,
      { scheduled_limit: limit, retry_after_seconds: retryAfterSeconds },
      { 'Retry-After': String(retryAfterSeconds) },
    ),
  rateLimited: (perSecond: number, retryAfterSeconds: number) =>
    new ServiceError(
      'rate_limited',
      `Too many submissions: this client may submit ${perSecond} jobs a second (RATE_LIMIT_PER_S); retry in ${retryAfterSeconds} s.`,
      { limit_per_second: perSecond, retry_after_seconds: retryAfterSeconds },
      { 'Retry-After': String(retryAfterSeconds) },
    ),
  duplicateJob: (id: string, existing: unknown) =>
    new ServiceError(
      'duplicate_job',
      `A job with id ${JSON.stringify(id)} already exists with a different type, payload, max_retries or priority.`,
      existing,
    ),
  scheduleNotFound: (name: string) =>
    new ServiceError('not_found', `No schedule ${JSON.stringify(name)}; GET /schedules lists them.`),
  notCancellable: (id: string, state: string) =>
    new ServiceError('not_cancellable', `Job ${JSON.stringify(id)} is ${state} and can no longer be cancelled.`, {
      state,
    }),
  notRetryable: (id: string, state: string) =>
    new ServiceError(
      'not_retryable',
      `Job ${JSON.stringify(id)} is ${state}; only failed or cancelled jobs can be retried.`,
      { state },
    ),
  shuttingDown: () =>
    new ServiceError('shutting_down', 'The service is shutting down and accepts no new jobs; retry on another instance.'),
  storageUnavailable: (reason: string) =>
    new ServiceError(
      'storage_unavailable',
      'The job store cannot write right now (e.g. the disk is full); the request was not carried out. Retry shortly.',
      { reason },
      { 'Retry-After': '1' },
    ),
  tooManyStreams: (maxStreams: number) =>
    new ServiceError(
      'too_many_streams',
      `Too many event streams are open (the limit, MAX_EVENT_STREAMS, is ${maxStreams}); retry in a few seconds.`,
      { max_streams: maxStreams },
      { 'Retry-After': '5' },
    ),
  /**
   * No token, or one the service does not know. RFC 6750's challenge: a client that sent no token is told the
   * scheme; one that sent a bad token is told that too (`invalid_token`), without echoing it.
   */
  unauthorized: (presented: boolean) =>
    new ServiceError(
      'unauthorized',
      presented
        ? 'The access token is not valid.'
        : 'This route needs an access token: send it as `Authorization: Bearer <token>`.',
      undefined,
      { 'WWW-Authenticate': presented ? 'Bearer error="invalid_token"' : 'Bearer' },
    ),
  /** A known token without the scope the route needs; it is named by its name, never by its value. */
  forbidden: (tokenName: string, scope: string, method: string, path: string) =>
    new ServiceError(
      'forbidden',
      `${method} ${path} needs the scope "${scope}", which the token "${tokenName}" does not have.`,
      { required_scope: scope },
      { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${scope}"` },
    ),
  /** A route no scope was decided for: refused to every token rather than left open by omission. */
  noScopeDecided: (method: string, path: string) =>
    new ServiceError('forbidden', `${method} ${path} has no scope decision, so no token may call it.`, {
      required_scope: null,
    }),
  jobNotFound: (id: string) => new ServiceError('not_found', `No job with id ${JSON.stringify(id)}.`),
  routeNotFound: (method: string, path: string) =>
    new ServiceError('not_found', `No route for ${method} ${path}.`),
  methodNotAllowed: (method: string, path: string, allowed: string[]) =>
    new ServiceError(
      'method_not_allowed',
      `${method} is not allowed on ${path}; allowed: ${allowed.join(', ')}.`,
      undefined,
      { Allow: allowed.join(', ') },
    ),
  internal: () => new ServiceError('internal', 'An unexpected error occurred; it has been logged.'),
};

/**
 * Thrown by a processor to fail a job at once, skipping its remaining retries
 * (BullMQ calls this an UnrecoverableError).
 */
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentError';
  }
}

/**
 * Thrown by a processor for a failed attempt that should be retried after a given delay rather than the backoff
 * formula's (an HTTP target's `Retry-After`). Still bound by `max_retries`.
 */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    /** The delay before the retry, ms, already capped by the thrower. */
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

/** The engine's refusal of a submission whose id is already known; the HTTP layer picks 200 or 409. */
export class DuplicateJobError extends Error {
  constructor(
    readonly existing: import('./engine/job-record.js').JobRecord,
    /** The refused submission, its defaults applied, to compare with the existing job. */
    readonly submitted: import('./engine/job-queue.types.js').ResolvedSubmission,
  ) {
    super(`duplicate job ${existing.id}`);
    this.name = 'DuplicateJobError';
  }
}

/**
 * The job store could not be opened: its file is locked by another running instance, corrupt, or unreadable.
 * The message names the file and says what to do; `main` prints it and exits with code 2.
 */
export class StoreOpenError extends Error {
  constructor(
    /** The store file, as an absolute path. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`Cannot open the job store ${path}: ${reason}`);
    this.name = 'StoreOpenError';
  }
}

/**
 * The job types could not be loaded at start: a task module that fails to import, has no default function or
 * invalid options; two types of one name; a bad types file. Each problem is one line that names the file and
 * the reason; `main` prints them and exits with code 2.
 */
export class JobTypesError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'JobTypesError';
  }
}
