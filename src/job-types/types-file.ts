/**
 * The types file (JOB_TYPES_FILE): JSON of the shape `{"types": {"<type>": {...}}}`. An entry with `url` is an
 * HTTP target: each attempt of the type is a signed POST to that URL, with the entry's `headers`. An entry
 * without `url` sets options of the task module of that name. Every entry may set the type's options
 * (`max_retries`, `timeout_ms`, `backoff`, `concurrency`; `isolation` for a module only).
 *
 * A header value may name environment variables as `${NAME}`, so secrets stay out of the file; any other
 * `$` is kept as written.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { JobTypesError } from '../errors.js';
import { issueLines, jsonPath } from './issue-lines.js';
import { jobTypeNameSchema, jobTypeOptionsSchema, type JobTypeOptions } from './job-type.js';

/** An HTTP target's `timeout_ms` when its entry sets none, ms: a call without a limit would hold a worker forever. */
export const HTTP_TARGET_TIMEOUT_MS = 30_000;

export interface HttpTargetEntry {
  /** `http:` or `https:`. */
  url: string;
  /** With every `${NAME}` resolved; `{}` when the entry has none. */
  headers: Record<string, string>;
  /** `timeout_ms` is always set (HTTP_TARGET_TIMEOUT_MS by default). */
  options: JobTypeOptions;
}

export interface TypesFile {
  /** The entries with `url`, by type name, in file order. */
  targets: Record<string, HttpTargetEntry>;
  /** The entries without `url`: options for the task modules of these names. */
  moduleOptions: Record<string, JobTypeOptions>;
}

/** What a types file holds: its entries, one line per problem, and every type name it claims. */
export interface TypesFileScan extends TypesFile {
  problems: string[];
  /** Every valid name of an entry with `url`, good or not (so a DEFAULT_JOB_TYPE check does not pile on). */
  targetNames: string[];
}

/** RFC 9110 `token`: the characters a header name may have. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** What would end a header line early or be refused by the HTTP client. */
const FORBIDDEN_IN_HEADER = /[\r\n\0]/;

const fileSchema = z.strictObject({ types: z.record(z.string(), z.unknown()) });

const entrySchema = jobTypeOptionsSchema.extend({
  url: z
    .string()
    .refine((value) => URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol), {
      error: 'Invalid URL: expected an absolute http: or https: URL',
    })
    .optional(),
  headers: z.record(z.string().regex(HEADER_NAME, { error: 'Not a valid HTTP header name' }), z.string()).optional(),
});

/**
 * Reads and checks the types file. Throws `JobTypesError` with every problem found, each on a line naming the
 * file and the JSON path of the bad value: `job-types.json: types.notify.timeout_ms: Invalid input: …`.
 *
 * @param environment where `${NAME}` in a header value is looked up; an empty value counts as unset.
 */
export async function loadTypesFile(path: string, environment: Readonly<Record<string, string>>): Promise<TypesFile> {
  const { targets, moduleOptions, problems } = await scanTypesFile(path, environment);
  if (problems.length > 0) throw new JobTypesError(problems);
  return { targets, moduleOptions };
}

/** `loadTypesFile`'s work, with the problems returned rather than thrown. */
export async function scanTypesFile(path: string, environment: Readonly<Record<string, string>>): Promise<TypesFileScan> {
  const scan: TypesFileScan = { targets: {}, moduleOptions: {}, problems: [], targetNames: [] };
  const problem = (line: string) => scan.problems.push(`${path}: ${line}`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    problem(`cannot be read: ${error instanceof Error ? error.message : String(error)}`);
    return scan;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    problem(`not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    return scan;
  }
  const file = fileSchema.safeParse(json);
  if (!file.success) issueLines(file.error.issues).forEach(problem);
  // Entry by entry, so that one bad entry (or a stray key beside `types`) does not hide the others' problems.
  const types = isRecord(json) && isRecord(json.types) ? json.types : {};
  for (const [name, raw] of Object.entries(types)) {
    const at = ['types', name];
    const validName = jobTypeNameSchema.safeParse(name);
    if (!validName.success) {
      const reason = validName.error.issues.map((issue) => issue.message).join(' ');
      problem(`${jsonPath(at)}: ${JSON.stringify(name)} is not a valid job type name (${reason})`);
    }
    const hasUrl = isRecord(raw) && 'url' in raw;
    if (validName.success && hasUrl) scan.targetNames.push(name);
    const entry = entrySchema.safeParse(raw);
    if (!entry.success) {
      issueLines(entry.error.issues, at).forEach(problem);
      continue;
    }
    const { url, headers, ...options } = entry.data;
    if (url === undefined) {
      if (headers !== undefined) {
        problem(`${jsonPath([...at, 'headers'])}: only an HTTP target (an entry with "url") sends headers`);
      } else if (validName.success) {
        scan.moduleOptions[name] = options;
      }
      continue;
    }
    if (options.isolation === 'thread') {
      problem(`${jsonPath([...at, 'isolation'])}: only a task module (an entry without "url") runs in a thread`);
    }
    const resolved = resolveHeaders(headers ?? {}, environment, at, problem);
    if (validName.success && resolved !== undefined && options.isolation !== 'thread') {
      scan.targets[name] = { url, headers: resolved, options: { ...options, timeout_ms: options.timeout_ms ?? HTTP_TARGET_TIMEOUT_MS } };
    }
  }
  return scan;
}

/** The header values with their `${NAME}` references resolved; undefined when any could not be. */
function resolveHeaders(
  headers: Record<string, string>,
  environment: Readonly<Record<string, string>>,
  at: readonly string[],
  problem: (line: string) => void,
): Record<string, string> | undefined {
  const resolved: Record<string, string> = {};
  let ok = true;
  for (const [header, template] of Object.entries(headers)) {
    const where = jsonPath([...at, 'headers', header]);
    const missing = new Set<string>();
    const value = template.replace(REFERENCE, (_, variable: string) => {
      const found = Object.hasOwn(environment, variable) ? environment[variable] : '';
      if (found === '') missing.add(variable);
      return found;
    });
    for (const variable of missing) problem(`${where}: environment variable ${variable} is not set`);
    // The value is not quoted: it may hold a secret.
    if (missing.size === 0 && FORBIDDEN_IN_HEADER.test(value)) problem(`${where}: must not contain CR, LF or NUL`);
    if (missing.size > 0 || FORBIDDEN_IN_HEADER.test(value)) ok = false;
    else resolved[header] = value;
  }
  return ok ? resolved : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
