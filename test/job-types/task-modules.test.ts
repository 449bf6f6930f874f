import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobTypesError } from '../../src/errors.js';
import type { JobTypeDefinition } from '../../src/job-types/job-type.js';
import { loadTaskModules, scanTaskModules, taskModuleDefinition } from '../../src/job-types/task-modules.js';
import { attemptContext, capturedLogger, fixture, job, rejection } from './support.js';

/** The problems `loadTaskModules` throws for a fixture folder. */
async function problemsOf(folder: string): Promise<string[]> {
  const error = await rejection(loadTaskModules(fixture(folder), { logger: capturedLogger('silent').logger, workers: 4 }));
  expect(error).to.be.instanceOf(JobTypesError);
  return (error as JobTypesError).problems;
}

describe('task modules', () => {
  let loaded: JobTypeDefinition[] = [];
  afterEach(async () => {
    await Promise.all(loaded.map((definition) => definition.close?.()));
    loaded = [];
  });

  it('loads one type per module file, named after it, and skips subfolders, declarations, dotfiles and other files', async () => {
    const dir = fixture('good');
    loaded = await loadTaskModules(dir, { logger: capturedLogger('silent').logger, workers: 4 });
    expect(loaded.map(({ name, kind, source, options }) => ({ name, kind, source, options }))).to.deep.equal([
      { name: 'echo', kind: 'module', source: join(dir, 'echo.ts'), options: {} },
      { name: 'plain', kind: 'module', source: join(dir, 'plain.js'), options: {} },
      {
        name: 'with-options',
        kind: 'module',
        source: join(dir, 'with-options.mjs'),
        options: { max_retries: 5, backoff: { base_ms: 10, max_ms: 1000 }, concurrency: 2 },
      },
    ]);
    expect(loaded.every((definition) => definition.close === undefined)).to.equal(true);
  });

  it("runs a handler on the event loop with the payload and a context of the job, the engine's signal and progress", async () => {
    const { logger, lines } = capturedLogger();
    loaded = await loadTaskModules(fixture('good'), { logger, workers: 4 });
    const echo = loaded.find((definition) => definition.name === 'echo')!;
    const ctx = attemptContext();
    const result = await echo.processor(job({ hello: 'world' }, { id: 'j7', type: 'echo', attempt: 2 }), ctx);
    expect(result).to.deep.equal({ payload: { hello: 'world' }, id: 'j7', type: 'echo', attempt: 2, aborted: false });
    expect(ctx.reported).to.deep.equal([{ half: true }]);
    expect(lines).to.deep.equal([]);
  });

  it("gives a handler a logger bound to the job's id, type and attempt", async () => {
    // `double` asks for a thread; built here with no options, it runs inline, where its log lines are seen.
    const spec = (await scanTaskModules(fixture('threads'))).specs.find((found) => found.name === 'double')!;
    const { logger, lines } = capturedLogger();
    logger.level = 'debug';
    const inline = taskModuleDefinition(spec, {}, { logger, workers: 4 });
    await inline.processor(job({ n: 2 }, { id: 'j1', type: 'double', attempt: 3 }), attemptContext());
    expect(lines.map(({ job_id, type, attempt, msg }) => ({ job_id, type, attempt, msg }))).to.deep.equal([
      { job_id: 'j1', type: 'double', attempt: 3, msg: 'doubling' },
    ]);
  });

  it('refuses a module that cannot be imported, with its error on one line', async () => {
    const dir = fixture('bad-import');
    const problems = await problemsOf('bad-import');
    expect(problems).to.have.length(2);
    // Node's own wording of a syntax error varies between versions; the line's shape and its subject do not.
    expect(problems[0]).to.match(new RegExp(`^${escape(join(dir, 'syntax.mjs'))}: cannot be imported: .*Unexpected end of input[^\\n]*$`));
    expect(problems[1]).to.equal(`${join(dir, 'throws.ts')}: cannot be imported: cannot start: no API key`);
  });

  it("puts a TypeScript syntax error (esbuild's message spans lines) on one line", async () => {
    // Written at run time: a fixture with a syntax error in the repository would break the typecheck.
    const dir = await mkdtemp(join(tmpdir(), 'task-modules-'));
    try {
      await writeFile(join(dir, 'broken.ts'), 'export default async () => {\n  const x: number = ;\n};\n');
      const error = await rejection(loadTaskModules(dir, { logger: capturedLogger('silent').logger, workers: 1 }));
      expect((error as JobTypesError).problems).to.deep.equal([
        `${join(dir, 'broken.ts')}: cannot be imported: Transform failed with 1 error: ${join(dir, 'broken.ts')}:2:20: ERROR: Unexpected ";"`,
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a module whose default export is not a function', async () => {
    const dir = fixture('no-default');
    expect(await problemsOf('no-default')).to.deep.equal([
      `${join(dir, 'named-only.ts')}: has no default export function (the handler)`,
      `${join(dir, 'not-function.ts')}: has no default export function (the handler)`,
    ]);
  });

  it('refuses invalid options, one line per problem with its path, and says every problem of a file', async () => {
    const dir = fixture('bad-options');
    expect(await problemsOf('bad-options')).to.deep.equal([
      `${join(dir, 'bad.ts')}: invalid options: options.backoff.base: Unrecognized key`,
      `${join(dir, 'bad.ts')}: invalid options: options.concurrency: Too small: expected number to be >=1`,
      `${join(dir, 'bad.ts')}: invalid options: options.isolation: Invalid option: expected one of "none"|"thread"`,
      `${join(dir, 'bad.ts')}: invalid options: options.retries: Unrecognized key`,
      `${join(dir, 'no-handler-either.ts')}: has no default export function (the handler)`,
      `${join(dir, 'no-handler-either.ts')}: invalid options: options.timeout_ms: Too small: expected number to be >=0`,
      `${join(dir, 'not-object.ts')}: invalid options: options: Invalid input: expected object, received string`,
    ]);
  });

  it('refuses a file whose name is not a valid type name, without importing it', async () => {
    expect(await problemsOf('bad-name')).to.deep.equal([
      `${join(fixture('bad-name'), 'Send_Email.ts')}: "Send_Email" is not a valid job type name (Must start with a lowercase letter or digit, followed by lowercase letters, digits, ".", "_" or "-".)`,
    ]);
  });

  it('refuses two files that define one type', async () => {
    expect(await problemsOf('duplicate')).to.deep.equal([
      `${fixture('duplicate')}: two task modules define the type "email": email.js, email.ts`,
    ]);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
