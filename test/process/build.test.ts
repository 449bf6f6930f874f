/**
 * The path the Docker image takes, without Docker: `npm run build` (tsc), then the compiled entry point
 * `node dist/src/main.js`, exactly the image's CMD.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { exitWithin, killAll, REPO_ROOT, startChild, waitUntilHealthy } from './child-service.js';

const run = promisify(execFile);

describe('process: the compiled build (what the Dockerfile runs)', function () {
  this.timeout(120_000);
  afterEach(killAll);

  it('npm run build, then node dist/src/main.js answers GET /healthz with 200 OK and exits 0 on SIGTERM', async () => {
    await run('npm', ['run', 'build'], { cwd: REPO_ROOT, maxBuffer: 1_000_000 });

    const child = await startChild(['dist/src/main.js']);
    await waitUntilHealthy(child);
    const response = await fetch(child.url('/healthz'));
    expect(response.status).to.equal(200);
    expect(await response.text()).to.equal('OK');

    child.process.kill('SIGTERM');
    expect((await exitWithin(child, 10_000)).code, child.stderr()).to.equal(0);

    // The library, by the package's name, as a program that installed it sees it: no source condition, so the
    // exports map points at the compiled JavaScript, with its declarations beside it.
    const { stdout } = await run(
      'node',
      ['--input-type=module', '-e', "const m = await import('xstate-job-service'); console.log(Object.keys(m).sort().join())"],
      { cwd: REPO_ROOT },
    );
    expect(stdout).to.equal('JobTypesError,PermanentError,RetryLaterError,ServiceError,createJobService\n');
    expect(existsSync(join(REPO_ROOT, 'dist/src/index.d.ts'))).to.equal(true);
  });
});
