/**
 * The job types at start, from their three sources: the built-in `simulated`, the task modules of TASKS_DIR
 * and the HTTP targets of JOB_TYPES_FILE (which also sets options of task modules). Every problem of every
 * source is collected, and the service refuses to start with all of them at once.
 */
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { JobTypesError } from '../errors.js';
import { createHttpTarget } from '../processors/http-target.js';
import { jsonPath } from './issue-lines.js';
import type { JobTypeDefinition } from './job-type.js';
import { mergeJobTypeOptions } from './merge-options.js';
import { createSimulatedProcessor } from '../processors/simulated.js';
import { simulatedType } from './simulated-type.js';
import { scanTaskModules, taskModuleDefinition, type TaskModuleSpec } from './task-modules.js';
import { scanTypesFile, type TypesFile } from './types-file.js';

/**
 * Loads the job types: `simulated` first, then the task modules (by file name), then the HTTP targets (in file
 * order). A default path (`./tasks`, `./job-types.json`) that does not exist is skipped; a path set
 * explicitly must exist. Throws `JobTypesError`, one line per problem; nothing is left running then.
 */
export async function loadJobTypes(config: Readonly<Config>, logger: Logger): Promise<JobTypeDefinition[]> {
  const problems: string[] = [];
  /** Each type's source, for the message when a second source defines it too. */
  const sources = new Map<string, string>();
  /** Every name a source claims, defined or failed: what DEFAULT_JOB_TYPE is checked against. */
  const claimed = new Set<string>(['simulated']);
  const define = (name: string, source: string) => {
    const first = sources.get(name);
    if (first === undefined) sources.set(name, source);
    else problems.push(`job type ${JSON.stringify(name)} is defined twice: ${first} and ${source}`);
  };
  define('simulated', 'built-in');

  let modules: TaskModuleSpec[] = [];
  /** The names of the folder's files, loaded or not. */
  const moduleNames = new Set<string>();
  const tasksDir = config.tasksDir;
  const tasksKind = await pathKind(tasksDir.path);
  if (tasksKind === 'folder') {
    const scan = await scanTaskModules(tasksDir.path);
    problems.push(...scan.problems);
    for (const name of scan.names) {
      moduleNames.add(name);
      claimed.add(name);
    }
    modules = scan.specs;
  } else if (tasksKind !== 'missing' || tasksDir.explicit) {
    problems.push(`TASKS_DIR=${tasksDir.path}: ${kindProblem(tasksKind, 'folder')}`);
  }

  let file: TypesFile = { targets: {}, moduleOptions: {} };
  const typesFile = config.jobTypesFile;
  const filePath = typesFile.path;
  const fileKind = await pathKind(filePath);
  if (fileKind === 'file') {
    const scan = await scanTypesFile(filePath, config.environment);
    problems.push(...scan.problems);
    scan.targetNames.forEach((name) => claimed.add(name));
    file = scan;
  } else if (fileKind !== 'missing' || typesFile.explicit) {
    problems.push(`JOB_TYPES_FILE=${filePath}: ${kindProblem(fileKind, 'file')}`);
  }

  const moduleOptions = new Map(modules.map((spec) => [spec.name, spec.options]));
  for (const [name, options] of Object.entries(file.moduleOptions)) {
    const own = moduleOptions.get(name);
    if (own === undefined) {
      if (moduleNames.has(name)) continue; // its module failed to load: that problem is said already
      problems.push(
        `${filePath}: ${jsonPath(['types', name])}: no task module named ${JSON.stringify(name)} (entries without "url" set options of a task module)`,
      );
    } else {
      moduleOptions.set(name, mergeJobTypeOptions(own, options));
    }
  }
  for (const spec of modules) define(spec.name, spec.file);
  const targets = Object.entries(file.targets);
  for (const [name] of targets) define(name, `${filePath} (${jsonPath(['types', name])})`);
  if (targets.length > 0 && config.webhookSecret === null) {
    problems.push(`JOB_TYPES_FILE=${filePath}: HTTP targets need WEBHOOK_SECRET (whsec_ followed by base64)`);
  }
  if (!claimed.has(config.defaultJobType)) {
    const known = [...sources.keys()].sort().join(', ');
    problems.push(`DEFAULT_JOB_TYPE=${config.defaultJobType}: no such job type; known: ${known}`);
  }
  if (problems.length > 0) throw new JobTypesError(problems);

  // Only now, with the whole configuration known good, is anything started (thread pools, socket pools).
  const definitions: JobTypeDefinition[] = [simulatedType(createSimulatedProcessor(config.work))];
  const deps = { logger, workers: config.workers };
  try {
    for (const spec of modules) definitions.push(taskModuleDefinition(spec, moduleOptions.get(spec.name) ?? {}, deps));
    for (const [name, target] of targets) {
      definitions.push({ name, kind: 'http', options: target.options, source: filePath, ...httpTarget(name, target, config) });
    }
  } catch (error) {
    await Promise.allSettled(definitions.map((definition) => definition.close?.()));
    throw error;
  }
  // At debug: the `listening` line names the types, and a start that fails later (a locked store) prints nothing.
  for (const { name: type, kind, source } of definitions) logger.debug({ type, kind, source }, 'job type loaded');
  return definitions;
}

function httpTarget(name: string, target: TypesFile['targets'][string], config: Readonly<Config>) {
  try {
    const { processor, close } = createHttpTarget({
      type: name,
      url: target.url,
      headers: target.headers,
      // Checked above: there are targets, so there is a secret.
      secret: config.webhookSecret ?? '',
      retryAfterMaxMs: config.retryAfterMaxMs,
      connections: Math.min(target.options.concurrency ?? config.workers, config.workers),
    });
    return { processor, close };
  } catch (error) {
    // The target refuses what the checks above let through (a secret that is not base64, say).
    const reason = error instanceof Error ? error.message : String(error);
    throw new JobTypesError([`${config.jobTypesFile.path}: ${jsonPath(['types', name])}: ${reason}`]);
  }
}

type PathKind = 'missing' | 'file' | 'folder' | 'other' | { unreadable: string };

async function pathKind(path: string): Promise<PathKind> {
  try {
    const stats = await stat(path);
    return stats.isDirectory() ? 'folder' : stats.isFile() ? 'file' : 'other';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    return { unreadable: error instanceof Error ? error.message : String(error) };
  }
}

/** Why a path that should be a `wanted` cannot be loaded. */
function kindProblem(kind: PathKind, wanted: 'file' | 'folder'): string {
  if (typeof kind === 'object') return `cannot be read: ${kind.unreadable}`;
  return kind === 'missing' ? `no such ${wanted}` : `not a ${wanted}`;
}
