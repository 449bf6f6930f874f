/**
 * Task modules: the job types of a folder (TASKS_DIR), one per `*.ts`, `*.mts`, `*.js` or `*.mjs` file, named
 * after the file. A module's default export is its handler, `async (payload, ctx) => result`; an optional
 * `export const options` sets the type's options (retries, time limit, backoff, concurrency, isolation).
 */
import { readdir } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { JobTypesError } from '../errors.js';
import { issueLines } from './issue-lines.js';
import { jobTypeNameSchema, jobTypeOptionsSchema, type JobTypeDefinition, type JobTypeOptions } from './job-type.js';
import type { TaskHandler } from './task-handler.js';
import { createThreadPool } from './thread-pool.js';
import { handlerProcessor } from './handler-processor.js';

export interface TaskModuleDeps {
  /** The service's logger: each handler's `ctx.log` is a child of it. */
  logger: Logger;
  /** WORKERS: the most threads a thread-isolated type starts when it sets no `concurrency`. */
  workers: number;
}

/** A task module imported and checked: the type it defines, before any processor (or thread) exists. */
export interface TaskModuleSpec {
  name: string;
  /** The module's file: the folder as given joined with the file name. */
  file: string;
  handler: TaskHandler;
  /** Its own `export const options`, validated; `{}` when it has none. */
  options: JobTypeOptions;
}

/** What a folder holds: the good modules, one line per problem, and every type name its files claim. */
export interface TaskModuleScan {
  specs: TaskModuleSpec[];
  problems: string[];
  /** Every valid type name a file claims, good module or not (so a DEFAULT_JOB_TYPE check does not pile on). */
  names: string[];
}

const EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs']);
const DECLARATION = /\.d\.m?ts$/;
const COUNT_WORDS = ['', 'one', 'two', 'three', 'four'];

/**
 * Loads every task module of `dir` as a job type of kind `module`. Throws `JobTypesError` with every problem
 * found (a file that fails to import, has no default function, invalid options or an invalid name; two files
 * of one name), each on a line naming its file.
 */
export async function loadTaskModules(dir: string, deps: TaskModuleDeps): Promise<JobTypeDefinition[]> {
  const { specs, problems } = await scanTaskModules(dir);
  if (problems.length > 0) throw new JobTypesError(problems);
  return specs.map((spec) => taskModuleDefinition(spec, spec.options, deps));
}

/**
 * Imports and checks the modules of `dir` (the files, not the subfolders), in file-name order. Nothing is
 * started: a thread pool only comes with `taskModuleDefinition`, once the whole configuration is known good.
 */
export async function scanTaskModules(dir: string): Promise<TaskModuleScan> {
  const scan: TaskModuleScan = { specs: [], problems: [], names: [] };
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    scan.problems.push(`${dir}: cannot be read: ${oneLine(error)}`);
    return scan;
  }
  const files = entries
    .filter((entry) => entry.isFile() || entry.isSymbolicLink())
    .map((entry) => entry.name)
    // Dotfiles are editors' and tools' (`.#email.ts`, an Emacs lock), never a type: a name cannot start with a dot.
    .filter((name) => EXTENSIONS.has(extname(name)) && !DECLARATION.test(name) && !name.startsWith('.'))
    .sort();

  const filesByName = new Map<string, string[]>();
  for (const fileName of files) {
    const file = join(dir, fileName);
    const name = fileName.slice(0, -extname(fileName).length);
    const validName = jobTypeNameSchema.safeParse(name);
    if (!validName.success) {
      // Not imported: whatever it holds, the file cannot define a type under this name.
      const reason = validName.error.issues.map((issue) => issue.message).join(' ');
      scan.problems.push(`${file}: ${JSON.stringify(name)} is not a valid job type name (${reason})`);
      continue;
    }
    filesByName.set(name, [...(filesByName.get(name) ?? []), fileName]);
    const spec = await importTaskModule(name, file, scan.problems);
    if (spec !== undefined) scan.specs.push(spec);
  }

  for (const [name, fileNames] of filesByName) {
    scan.names.push(name);
    if (fileNames.length > 1) {
      const count = COUNT_WORDS[fileNames.length] ?? String(fileNames.length);
      scan.problems.push(`${dir}: ${count} task modules define the type ${JSON.stringify(name)}: ${fileNames.join(', ')}`);
    }
  }
  // A duplicated name defines no type: which of the files was meant is for the operator to say.
  scan.specs = scan.specs.filter((spec) => filesByName.get(spec.name)?.length === 1);
  return scan;
}

/** Imports one module; its problems go to `problems`, and it returns nothing unless it has none. */
async function importTaskModule(name: string, file: string, problems: string[]): Promise<TaskModuleSpec | undefined> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(file)).href)) as Record<string, unknown>;
  } catch (error) {
    problems.push(`${file}: cannot be imported: ${oneLine(error)}`);
    return undefined;
  }
  const before = problems.length;
  const handler = module.default;
  if (typeof handler !== 'function') problems.push(`${file}: has no default export function (the handler)`);
  let options: JobTypeOptions = {};
  if (module.options !== undefined) {
    const parsed = jobTypeOptionsSchema.safeParse(module.options);
    if (parsed.success) options = parsed.data;
    else problems.push(...issueLines(parsed.error.issues, ['options']).map((line) => `${file}: invalid options: ${line}`));
  }
  if (problems.length > before || typeof handler !== 'function') return undefined;
  return { name, file, handler: handler as TaskHandler, options };
}

/**
 * The job type of a checked module, with `options` (its own, or merged with a types file's). With
 * `isolation: 'thread'` the handler runs in a pool of `concurrency` (else WORKERS) threads, at most WORKERS:
 * the engine never runs more of a type at once.
 */
export function taskModuleDefinition(spec: TaskModuleSpec, options: JobTypeOptions, deps: TaskModuleDeps): JobTypeDefinition {
  const base = { name: spec.name, kind: 'module' as const, options, source: spec.file };
  if (options.isolation === 'thread') {
    const pool = createThreadPool({
      type: spec.name,
      file: spec.file,
      maxThreads: Math.min(options.concurrency ?? deps.workers, deps.workers),
      logger: deps.logger,
    });
    return { ...base, processor: pool.processor, close: () => pool.close() };
  }
  return { ...base, processor: handlerProcessor(spec.handler, deps.logger) };
}

/** An error's message on one line: a syntax error's (esbuild's) spans several. */
function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .split(/\r?\n/)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .join(' ');
}
