/**
 * Configuration, parsed once at the edge. This is the only module that reads `process.env`: everything else
 * receives the frozen `Config` it returns. An empty string counts as unset.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { jobTypeNameSchema } from './job-types/job-type.js';
import { SCOPES, sha256Hex, tokensFileSchema, type AccessToken } from './tokens.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

interface VariableSpec<T> {
  schema: z.ZodType<T>;
  /** What it sets, for the README's table. */
  description: string;
  /** What the variable accepts, in words, for the error line. */
  allowed: string;
  default: T;
  /** A secret: its value is never repeated in an error line. */
  secret?: boolean;
}

function integer(description: string, min: number, max: number, fallback: number): VariableSpec<number> {
  return {
    description,
    schema: z
      .string()
      .regex(/^\d+$/)
      .transform(Number)
      .pipe(z.number().int().min(min).max(max)),
    allowed: `an integer from ${min} to ${max}`,
    default: fallback,
  };
}

function fraction(description: string, fallback: number): VariableSpec<number> {
  return {
    description,
    schema: z
      .string()
      .regex(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/)
      .transform(Number),
    allowed: 'a number from 0 to 1',
    default: fallback,
  };
}

function text(description: string, fallback: string): VariableSpec<string> {
  return { description, schema: z.string().min(1), allowed: 'a non-empty string', default: fallback };
}

/** A string that may be empty: unset means the default, and the default may be "none". */
function optionalText(description: string, allowed: string): VariableSpec<string> {
  return { description, schema: z.string().min(1), allowed, default: '' };
}

function oneOf<const T extends readonly [string, ...string[]]>(
  description: string,
  values: T,
  fallback: T[number],
): VariableSpec<T[number]> {
  return { description, schema: z.enum(values), allowed: `one of ${values.join(', ')}`, default: fallback };
}

const DAY_MS = 86_400_000;

/** `memory`, or `sqlite:` followed by a file path; `toStoreLocation` reads it. */
function storeLocation(description: string, fallback: string): VariableSpec<string> {
  return {
    description,
    schema: z.string().regex(/^(memory|sqlite:.+|postgres(ql)?:\/\/.+)$/),
    allowed: '`memory`, `sqlite:<path>` or `postgres://user[:password]@host[:port]/database`',
    default: fallback,
  };
}

/** Where job records live: in memory (lost on exit), in a SQLite file, or in PostgreSQL (shared by instances). */
export type StoreLocation = { kind: 'memory' } | { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

const toStoreLocation = (value: string): StoreLocation =>
  value === 'memory'
    ? { kind: 'memory' }
    : value.startsWith('sqlite:')
      ? { kind: 'sqlite', path: value.slice('sqlite:'.length) }
      : { kind: 'postgres', url: value };

const DURABILITIES = ['normal', 'full'] as const;

/** Every variable the service reads, with its default and what it accepts. The README's table is generated from it. */
export const VARIABLES = {
  PORT: integer('HTTP port', 0, 65535, 8080),
  HOST: text(
    'address to listen on; any address other than loopback needs an access token or ALLOW_UNAUTHENTICATED=true',
    '127.0.0.1',
  ),
  WORKERS: integer('jobs running at once', 1, 1024, 4),
  QUEUE_SIZE: integer('jobs that may wait beyond the running ones; capacity is WORKERS + QUEUE_SIZE', 0, 1_000_000, 64),
  SCHEDULED_LIMIT: integer(
    'jobs scheduled for later (`run_at`, `delay_ms`) at once, beyond QUEUE_SIZE; one more is 429 `scheduled_full`',
    0,
    100_000_000,
    1_000_000,
  ),
  MAX_DELAY_MS: integer('the longest `delay_ms` (and furthest `run_at`) a submission may ask for', 0, 10 * 365 * DAY_MS, 365 * DAY_MS),
  BACKOFF_BASE_MS: integer('delay before retry 1, doubled for each further retry', 0, DAY_MS, 100),
  BACKOFF_MAX_MS: integer('cap on the doubled delay', 0, DAY_MS, 30_000),
  BACKOFF_JITTER_MS: integer('upper bound of the uniform jitter added to each delay', 0, DAY_MS, 100),
  JOB_TIMEOUT_MS: integer('an attempt running longer fails with `timeout`; 0 means no limit', 0, DAY_MS, 0),
  WORK_MIN_MS: integer('simulated processor: shortest work time; at most WORK_MAX_MS', 0, DAY_MS, 100),
  WORK_MAX_MS: integer('simulated processor: longest work time', 0, DAY_MS, 150),
  FAILURE_RATE: fraction('simulated processor: probability that an attempt fails', 0.2),
  JOB_RETENTION: integer('finished job records kept; the oldest finished go first', 0, 10_000_000, 10_000),
  STORE: storeLocation(
    'where job records live: a SQLite file (its directory is created), `memory` (nothing survives a restart), or PostgreSQL, shared by several instances',
    'sqlite:./data/jobs.db',
  ),
  PG_SCHEMA: {
    ...text('PostgreSQL store: the schema that holds its tables (created when missing)', 'jobs'),
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/),
    allowed: 'a lower-case identifier (`^[a-z_][a-z0-9_]{0,62}$`)',
  },
  PG_POOL_SIZE: integer('PostgreSQL store: connections in the pool, besides the one that listens', 1, 1000, 10),
  PG_CONNECT_TIMEOUT_MS: integer('PostgreSQL store: how long to wait for the database at start before exit 2', 0, DAY_MS, 10_000),
  PG_POLL_MS: integer(
    'PostgreSQL store: how often an instance looks for work no notification announced, and for jobs of dead instances',
    10,
    DAY_MS,
    1000,
  ),
  LEASE_MS: integer(
    'PostgreSQL store: how long a claimed job stays an instance\'s without renewal; after it, another takes it over',
    100,
    DAY_MS,
    30_000,
  ),
  DURABILITY: oneOf(
    'SQLite commits: `normal` survives a crash of the process, `full` also a power loss (an fsync per commit)',
    DURABILITIES,
    'normal',
  ),
  MAX_RETRIES_LIMIT: integer('the largest `max_retries` a submission may ask for', 0, 1000, 20),
  MAX_BODY_BYTES: integer('largest request body accepted', 1, 100 * 1024 * 1024, 65_536),
  SHUTDOWN_TIMEOUT_MS: integer('how long a shutdown lets unfinished jobs run before aborting them', 0, DAY_MS, 30_000),
  LOG_LEVEL: oneOf('log level of the JSON log lines', LOG_LEVELS, 'info'),
  DEFAULT_JOB_TYPE: {
    ...text('the `type` of a submission that names none; must be a known type', 'simulated'),
    schema: jobTypeNameSchema,
    allowed: 'a job type name (`^[a-z0-9][a-z0-9._-]*$`, 1–64 characters)',
  },
  TASKS_DIR: optionalText(
    'folder of task modules, one job type per `*.ts`, `*.mts`, `*.js` or `*.mjs` file; unset: `./tasks` if it exists',
    'a folder path',
  ),
  JOB_TYPES_FILE: optionalText(
    'JSON file of HTTP targets and per-type options; unset: `./job-types.json` if it exists',
    'a file path',
  ),
  WEBHOOK_SECRET: optionalText(
    'the Standard Webhooks secret that signs every HTTP target request; required when the types file has targets',
    '`whsec_` followed by base64',
  ),
  RETRY_AFTER_MAX_MS: integer("cap on the delay an HTTP target's `Retry-After` header sets", 0, 7 * DAY_MS, 3_600_000),
  RESULT_MAX_BYTES: integer("largest job `result` stored, as JSON; a larger one is dropped (`result_error`)", 0, 16 * 1024 * 1024, 65_536),
  AUTH_TOKENS_FILE: optionalText(
    'JSON list of access tokens, `{"name","sha256","scopes"}` each (`npm run token` makes one); unset: no token file',
    'a file path',
  ),
  API_TOKEN: {
    ...optionalText(
      'a single access token with every scope, for a quick setup',
      'at least 16 characters, each a letter, a digit or one of -._~+/ (what a Bearer header can carry)',
    ),
    schema: z.string().regex(/^[A-Za-z0-9\-._~+/]{16,}=*$/),
    secret: true,
  },
  ALLOW_UNAUTHENTICATED: oneOf(
    '`true` lets the service listen beyond loopback with no token configured: anyone who reaches the port may use it',
    ['true', 'false'],
    'false',
  ),
  CORS_ORIGINS: {
    ...optionalText(
      'comma-separated origins (`https://ops.example.com`) whose pages may call the API from a browser; unset: none',
      'comma-separated origins, `scheme://host[:port]` each',
    ),
    schema: z.string().refine((value) => value.split(',').every((origin) => isOrigin(origin.trim()))),
  },
  ALLOWED_HOSTS: {
    ...optionalText(
      'comma-separated host names (`jobs.example.com`) a request\'s `Host` must name, against DNS rebinding; unset: any host, or only loopback names while HOST is loopback',
      'comma-separated host names, without port',
    ),
    schema: z.string().regex(/^[A-Za-z0-9.\-\[\]:]+(,\s*[A-Za-z0-9.\-\[\]:]+)*$/),
  },
  HTTP_HEADERS_TIMEOUT_MS: integer('a client must send its request headers within this time, or its connection is closed (408)', 1000, DAY_MS, 10_000),
  HTTP_REQUEST_TIMEOUT_MS: integer('a client must send its whole request, body included, within this time (408); at least HTTP_HEADERS_TIMEOUT_MS', 1000, DAY_MS, 30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integer('an idle keep-alive connection is closed after this time', 1, DAY_MS, 5_000),
  MAX_CONNECTIONS: integer('open connections the server accepts; it drops those beyond', 1, 1_000_000, 1024),
  MAX_EVENT_STREAMS: integer('`GET /events` streams open at once; one more is refused with 503 `too_many_streams`', 1, 100_000, 100),
  LIST_MAX_BYTES: integer('a `GET /jobs` page ends early, with its cursor, once its jobs pass this many bytes of JSON', 1024, 1024 * 1024 * 1024, 1_048_576),
  RATE_LIMIT_PER_S: integer('submissions per second each access token (or, with no tokens, each client address) may make, across the cluster on PostgreSQL; beyond, 429 `rate_limited`; 0: no limit', 0, 1_000_000, 0),
  LOG_PAYLOADS: oneOf('`true` writes job payloads into the debug log lines that carry them; otherwise they are never logged', ['true', 'false'], 'false'),
} satisfies Record<string, VariableSpec<unknown>>;

type Variables = typeof VARIABLES;
type Values = { [K in keyof Variables]: Variables[K]['default'] };

export interface Config {
  port: number;
  host: string;
  workers: number;
  queueSize: number;
  backoff: { baseMs: number; maxMs: number; jitterMs: number };
  jobTimeoutMs: number;
  work: { minMs: number; maxMs: number; failureRate: number };
  jobRetention: number;
  /** STORE: where job records live. */
  store: StoreLocation;
  /** The PostgreSQL store's settings (PG_SCHEMA, PG_POOL_SIZE, PG_CONNECT_TIMEOUT_MS, PG_POLL_MS, LEASE_MS). */
  postgres: { schema: string; poolSize: number; connectTimeoutMs: number; pollMs: number; leaseMs: number };
  /** DURABILITY: `normal` (synchronous=NORMAL) or `full` (synchronous=FULL); used by the SQLite store only. */
  durability: (typeof DURABILITIES)[number];
  maxRetriesLimit: number;
  maxBodyBytes: number;
  shutdownTimeoutMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** DEFAULT_JOB_TYPE. */
  defaultJobType: string;
  /** TASKS_DIR; `explicit` false when it is the default `./tasks`, which may be missing. */
  tasksDir: { path: string; explicit: boolean };
  /** JOB_TYPES_FILE; `explicit` false when it is the default `./job-types.json`, which may be missing. */
  jobTypesFile: { path: string; explicit: boolean };
  /** WEBHOOK_SECRET, or null. */
  webhookSecret: string | null;
  retryAfterMaxMs: number;
  resultMaxBytes: number;
  /** SCHEDULED_LIMIT: the most jobs scheduled for later at once. */
  scheduledLimit: number;
  /** MAX_DELAY_MS: the longest delay a submission may ask for, in ms. */
  maxDelayMs: number;
  /**
   * Who may call which route: the tokens of AUTH_TOKENS_FILE and API_TOKEN (hashes only). No tokens: every route
   * is open, as it was before tokens existed, and only loopback may be listened on unless `allowUnauthenticated`.
   */
  access: { tokens: readonly AccessToken[]; allowUnauthenticated: boolean };
  /** CORS_ORIGINS: the origins that get CORS headers; empty, CORS is off. */
  corsOrigins: readonly string[];
  /** ALLOWED_HOSTS, lower-cased: the names a request's `Host` may carry; empty, see `hostCheck`. */
  allowedHosts: readonly string[];
  /** The HTTP server's own limits, set rather than left to Node's defaults. */
  http: {
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxConnections: number;
    /** MAX_EVENT_STREAMS. */
    maxEventStreams: number;
    /** LIST_MAX_BYTES: the JSON bytes of jobs after which a `GET /jobs` page ends. */
    listMaxBytes: number;
  };
  /** RATE_LIMIT_PER_S: submissions a second per token (or client address); 0, no limit. */
  rateLimitPerS: number;
  /** LOG_PAYLOADS. */
  logPayloads: boolean;
  /**
   * The environment as it was at start, for the `${NAME}` references of the types file's header values: they
   * are resolved from this copy, so nothing outside this module reads `process.env`.
   */
  environment: Readonly<Record<string, string>>;
}

/** Raised with one line per bad variable; `main` prints them and exits with code 2. */
/** The README's configuration table, generated from VARIABLES. */
export function configTable(): string {
  const rows = Object.entries(VARIABLES).map(
    ([name, spec]) =>
      `| \`${name}\` | ${spec.default === '' ? 'unset' : `\`${spec.default}\``} | ${spec.allowed} | ${spec.description} |`,
  );
  return ['| variable | default | allowed | what it sets |', '| --- | --- | --- | --- |', ...rows].join('\n') + '\n';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const problems: string[] = [];
  const values = {} as Record<string, unknown>;
  for (const [name, spec] of Object.entries(VARIABLES) as [keyof Variables, VariableSpec<unknown>][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      values[name] = spec.default;
      continue;
    }
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) values[name] = parsed.data;
    else problems.push(`${spec.secret ? name : `${name}=${JSON.stringify(raw)}`} is invalid: expected ${spec.allowed}`);
  }
  const v = values as Values;
  if (problems.length === 0 && v.WORK_MIN_MS > v.WORK_MAX_MS) {
    problems.push(`WORK_MIN_MS=${v.WORK_MIN_MS} is invalid: expected at most WORK_MAX_MS (${v.WORK_MAX_MS})`);
  }
  const tokens = problems.length === 0 ? accessTokens(v, problems) : [];
  if (problems.length === 0 && tokens.length === 0 && !isLoopback(v.HOST) && v.ALLOW_UNAUTHENTICATED !== 'true') {
    problems.push(
      `HOST=${v.HOST} listens beyond this machine, but no access token is configured. Add one: ` +
        '`npm run token -- --name NAME --scopes submit,read` prints a token and the line to add to the JSON list ' +
        'AUTH_TOKENS_FILE names (or set API_TOKEN to a secret of 16 characters or more). Or set ' +
        'ALLOW_UNAUTHENTICATED=true if anyone who can reach the port may use the service, or HOST=127.0.0.1.',
    );
  }
  if (problems.length === 0 && v.HTTP_HEADERS_TIMEOUT_MS > v.HTTP_REQUEST_TIMEOUT_MS) {
    problems.push(
      `HTTP_HEADERS_TIMEOUT_MS=${v.HTTP_HEADERS_TIMEOUT_MS} is invalid: expected at most HTTP_REQUEST_TIMEOUT_MS (${v.HTTP_REQUEST_TIMEOUT_MS})`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({
    port: v.PORT,
    host: v.HOST,
    workers: v.WORKERS,
    queueSize: v.QUEUE_SIZE,
    backoff: { baseMs: v.BACKOFF_BASE_MS, maxMs: v.BACKOFF_MAX_MS, jitterMs: v.BACKOFF_JITTER_MS },
    jobTimeoutMs: v.JOB_TIMEOUT_MS,
    work: { minMs: v.WORK_MIN_MS, maxMs: v.WORK_MAX_MS, failureRate: v.FAILURE_RATE },
    jobRetention: v.JOB_RETENTION,
    store: toStoreLocation(v.STORE),
    postgres: {
      schema: v.PG_SCHEMA,
      poolSize: v.PG_POOL_SIZE,
      connectTimeoutMs: v.PG_CONNECT_TIMEOUT_MS,
      pollMs: v.PG_POLL_MS,
      leaseMs: v.LEASE_MS,
    },
    durability: v.DURABILITY,
    maxRetriesLimit: v.MAX_RETRIES_LIMIT,
    maxBodyBytes: v.MAX_BODY_BYTES,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    logLevel: v.LOG_LEVEL,
    defaultJobType: v.DEFAULT_JOB_TYPE,
    tasksDir: { path: v.TASKS_DIR || './tasks', explicit: v.TASKS_DIR !== '' },
    jobTypesFile: { path: v.JOB_TYPES_FILE || './job-types.json', explicit: v.JOB_TYPES_FILE !== '' },
    webhookSecret: v.WEBHOOK_SECRET || null,
    retryAfterMaxMs: v.RETRY_AFTER_MAX_MS,
    resultMaxBytes: v.RESULT_MAX_BYTES,
    scheduledLimit: v.SCHEDULED_LIMIT,
    maxDelayMs: v.MAX_DELAY_MS,
    access: { tokens, allowUnauthenticated: v.ALLOW_UNAUTHENTICATED === 'true' },
    corsOrigins: v.CORS_ORIGINS === '' ? [] : v.CORS_ORIGINS.split(',').map((origin) => origin.trim()),
    // As `hostName` reads a Host header: lower-case, an IPv6 address without its brackets.
    allowedHosts:
      v.ALLOWED_HOSTS === ''
        ? []
        : v.ALLOWED_HOSTS.split(',').map((host) => host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1')),
    http: {
      headersTimeoutMs: v.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: v.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: v.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxConnections: v.MAX_CONNECTIONS,
      maxEventStreams: v.MAX_EVENT_STREAMS,
      listMaxBytes: v.LIST_MAX_BYTES,
    },
    rateLimitPerS: v.RATE_LIMIT_PER_S,
    logPayloads: v.LOG_PAYLOADS === 'true',
    environment: Object.fromEntries(
      Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
  });
}

/** The tokens of AUTH_TOKENS_FILE, then API_TOKEN's; each problem with the file is pushed as one line. */
function accessTokens(v: Values, problems: string[]): AccessToken[] {
  const tokens: AccessToken[] = [];
  if (v.AUTH_TOKENS_FILE !== '') {
    const where = `AUTH_TOKENS_FILE=${JSON.stringify(v.AUTH_TOKENS_FILE)}`;
    let text: string;
    let json: unknown;
    try {
      text = readFileSync(v.AUTH_TOKENS_FILE, 'utf8');
    } catch (error) {
      problems.push(`${where} cannot be read: ${(error as Error).message}`);
      return tokens;
    }
    try {
      json = JSON.parse(text);
    } catch (error) {
      problems.push(`${where} is not JSON: ${(error as Error).message}`);
      return tokens;
    }
    const parsed = tokensFileSchema.safeParse(json);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const at = issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');
        problems.push(`${where} is invalid at ${at || 'the top'}: ${issue.message}`);
      }
      return tokens;
    }
    tokens.push(...parsed.data);
  }
  if (v.API_TOKEN !== '') tokens.push({ name: 'API_TOKEN', sha256: sha256Hex(v.API_TOKEN), scopes: [...SCOPES] });
  return tokens;
}

/** Loopback: 127.0.0.0/8, ::1 (also IPv4-mapped), or the name localhost. */
export function isLoopback(host: string): boolean {
  const address = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (address === 'localhost') return true;
  if (isIP(address) === 4) return address.startsWith('127.');
  if (isIP(address) === 6) return address === '::1' || /^::ffff:127\./.test(address) || address === '0:0:0:0:0:0:0:1';
  return false;
}

/** `scheme://host[:port]`, exactly as a browser sends it in `Origin` (no path, no trailing slash). */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const inner of Object.values(value)) {
    if (inner && typeof inner === 'object') deepFreeze(inner);
  }
  return Object.freeze(value);
}
