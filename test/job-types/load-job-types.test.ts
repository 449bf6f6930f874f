import { expect } from 'chai';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { JobTypesError } from '../../src/errors.js';
import type { JobTypeDefinition } from '../../src/job-types/job-type.js';
import { loadJobTypes } from '../../src/job-types/load-job-types.js';
import { mergeJobTypeOptions } from '../../src/job-types/merge-options.js';
import { capturedLogger, fixture, rejection } from './support.js';

const SECRET = 'whsec_' + Buffer.from('a test signing key, 32 bytes long').toString('base64');

/** The configuration of `env`, as `main` would load it. */
const configOf = (env: Record<string, string>): Readonly<Config> => loadConfig({ ...env, NOTIFY_TOKEN: 'tok' });

async function problemsOf(config: Readonly<Config>): Promise<string[]> {
  const error = await rejection(loadJobTypes(config, capturedLogger('silent').logger));
  expect(error).to.be.instanceOf(JobTypesError);
  return (error as JobTypesError).problems;
}

describe('loading the job types', () => {
  let loaded: JobTypeDefinition[] = [];
  afterEach(async () => {
    await Promise.all(loaded.map((definition) => definition.close?.()));
    loaded = [];
  });

  it('loads simulated, then the task modules, then the HTTP targets, with the file’s options over the modules’', async () => {
    const tasks = fixture('good');
    const file = fixture('types-files/good.json');
    const { logger, lines } = capturedLogger('debug');
    loaded = await loadJobTypes(
      configOf({ TASKS_DIR: tasks, JOB_TYPES_FILE: file, WEBHOOK_SECRET: SECRET, REGION: 'eu', ZONE: 'b', DEFAULT_JOB_TYPE: 'echo' }),
      logger,
    );
    expect(loaded.map(({ name, kind, source, options }) => ({ name, kind, source, options }))).to.deep.equal([
      { name: 'simulated', kind: 'simulated', source: 'built-in', options: {} },
      { name: 'echo', kind: 'module', source: join(tasks, 'echo.ts'), options: { timeout_ms: 1500, backoff: { max_ms: 50 } } },
      { name: 'plain', kind: 'module', source: join(tasks, 'plain.js'), options: {} },
      {
        name: 'with-options',
        kind: 'module',
        source: join(tasks, 'with-options.mjs'),
        // The file set max_retries and backoff.max_ms; the module's backoff.base_ms and concurrency stay.
        options: { max_retries: 1, backoff: { base_ms: 10, max_ms: 99 }, concurrency: 2 },
      },
      { name: 'notify', kind: 'http', source: file, options: { timeout_ms: 30_000 } },
      { name: 'charge.card', kind: 'http', source: file, options: { timeout_ms: 5000, max_retries: 7, backoff: { base_ms: 200 } } },
    ]);
    expect(loaded.filter((definition) => definition.kind === 'http').every((definition) => definition.close !== undefined)).to.equal(true);
    expect(lines.map(({ type, kind, source, msg, level }) => ({ level, msg, type, kind, source }))).to.deep.equal(
      loaded.map(({ name, kind, source }) => ({ level: 'debug', msg: 'job type loaded', type: name, kind, source })),
    );
  });

  it('runs the built-in simulated type with the WORK_* settings', async () => {
    loaded = await loadJobTypes(
      { ...configOf({ WORK_MIN_MS: '0', WORK_MAX_MS: '0', FAILURE_RATE: '0' }), ...absentSources() },
      capturedLogger('silent').logger,
    );
    expect(loaded.map((definition) => definition.name)).to.deep.equal(['simulated']);
    const ctx = { signal: new AbortController().signal, progress: () => {} };
    expect(await loaded[0].processor({ id: 'a', type: 'simulated', payload: null, attempt: 1, max_retries: 0 }, ctx)).to.equal(undefined);
  });

  it('skips a default folder and file that do not exist', async () => {
    loaded = await loadJobTypes({ ...configOf({}), ...absentSources() }, capturedLogger('silent').logger);
    expect(loaded.map((definition) => definition.name)).to.deep.equal(['simulated']);
  });

  it('refuses an explicit folder or file that does not exist, or is of the other kind', async () => {
    expect(await problemsOf(configOf({ TASKS_DIR: fixture('absent'), JOB_TYPES_FILE: fixture('absent.json') }))).to.deep.equal([
      `TASKS_DIR=${fixture('absent')}: no such folder`,
      `JOB_TYPES_FILE=${fixture('absent.json')}: no such file`,
    ]);
    const [aFile, aFolder] = [fixture('types-files/good.json'), fixture('good')];
    expect(await problemsOf(configOf({ TASKS_DIR: aFile, JOB_TYPES_FILE: aFolder }))).to.deep.equal([
      `TASKS_DIR=${aFile}: not a folder`,
      `JOB_TYPES_FILE=${aFolder}: not a file`,
    ]);
  });

  it('says every problem of every source at once: duplicates, options for no module, a missing secret and default', async () => {
    const tasks = fixture('duplicate');
    const file = fixture('types-files/conflicts.json');
    expect(await problemsOf(configOf({ TASKS_DIR: tasks, JOB_TYPES_FILE: file, DEFAULT_JOB_TYPE: 'nope' }))).to.deep.equal([
      `${tasks}: two task modules define the type "email": email.js, email.ts`,
      // No line for the options of "email": its module did not load, and that is said above.
      `${file}: types.ghost: no task module named "ghost" (entries without "url" set options of a task module)`,
      `job type "sms" is defined twice: ${join(tasks, 'sms.ts')} and ${file} (types.sms)`,
      `job type "simulated" is defined twice: built-in and ${file} (types.simulated)`,
      `JOB_TYPES_FILE=${file}: HTTP targets need WEBHOOK_SECRET (whsec_ followed by base64)`,
      'DEFAULT_JOB_TYPE=nope: no such job type; known: simulated, sms',
    ]);
  });

  it('refuses a module named after the built-in type', async () => {
    const tasks = fixture('named-simulated');
    expect(await problemsOf({ ...configOf({ TASKS_DIR: tasks }), jobTypesFile: { path: fixture('absent.json'), explicit: false } })).to.deep.equal([
      `job type "simulated" is defined twice: built-in and ${join(tasks, 'simulated.ts')}`,
    ]);
  });

  it('does not add a DEFAULT_JOB_TYPE problem when the default is a module that failed to load', async () => {
    const tasks = fixture('bad-import');
    const problems = await problemsOf({ ...configOf({ TASKS_DIR: tasks, DEFAULT_JOB_TYPE: 'throws' }), jobTypesFile: absentSources().jobTypesFile });
    expect(problems.map((line) => line.slice(0, line.indexOf(':')))).to.deep.equal([join(tasks, 'syntax.mjs'), join(tasks, 'throws.ts')]);
  });

  it("says what an HTTP target refuses to be created with, naming the file's entry", async () => {
    const file = fixture('types-files/one-target.json');
    const problems = await problemsOf({ ...configOf({ JOB_TYPES_FILE: file, WEBHOOK_SECRET: 'whsec_!!!' }), tasksDir: absentSources().tasksDir });
    expect(problems).to.have.length(1);
    expect(problems[0].startsWith(`${file}: types.notify: `)).to.equal(true);
  });
});

describe('merging job type options', () => {
  it('lets each key set over win, and merges backoff key by key', () => {
    expect(
      mergeJobTypeOptions(
        { max_retries: 5, timeout_ms: 100, backoff: { base_ms: 10, max_ms: 1000 }, isolation: 'thread' },
        { timeout_ms: 0, backoff: { max_ms: 99, jitter_ms: undefined }, concurrency: 3, max_retries: undefined },
      ),
    ).to.deep.equal({ max_retries: 5, timeout_ms: 0, backoff: { base_ms: 10, max_ms: 99 }, isolation: 'thread', concurrency: 3 });
    expect(mergeJobTypeOptions({ max_retries: 1 }, { backoff: { base_ms: 1 } })).to.deep.equal({ max_retries: 1, backoff: { base_ms: 1 } });
    expect(mergeJobTypeOptions({}, {})).to.deep.equal({});
  });
});

/** TASKS_DIR and JOB_TYPES_FILE unset, with their defaults absent. */
function absentSources(): Pick<Config, 'tasksDir' | 'jobTypesFile'> {
  return {
    tasksDir: { path: fixture('absent-tasks'), explicit: false },
    jobTypesFile: { path: fixture('absent-job-types.json'), explicit: false },
  };
}
