/**
 * The route suites again, on the SQLite store: the same test files (test/http and the debug routes), run by a
 * child mocha with `TEST_STORE=sqlite`, which `test/http/support.ts` reads. One test here stands for the whole
 * run; on a failure its message carries the child's report. To run them directly:
 *   TEST_STORE=sqlite npx mocha --no-config --node-option import=tsx 'test/http/**\/*.test.ts' test/debug/routes.test.ts
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MOCHA = fileURLToPath(new URL('../../node_modules/mocha/bin/mocha.js', import.meta.url));

describe('route tests on the sqlite store', function () {
  this.timeout(120_000);

  it('pass, every one of them (test/http/**, test/debug/routes.test.ts with TEST_STORE=sqlite)', async () => {
    const args = [
      MOCHA,
      '--no-config', // the config's spec would run everything, this file included
      '--node-option', 'import=tsx',
      '--timeout', '10000',
      '--reporter', 'dot',
      'test/http/**/*.test.ts',
      'test/debug/routes.test.ts',
    ];
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        args,
        { cwd: ROOT, env: { ...process.env, TEST_STORE: 'sqlite' }, maxBuffer: 4_000_000, timeout: 110_000 },
        (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
      child.stdin?.end();
    });
    expect(code, output).to.equal(0);
    expect(output).to.match(/\d+ passing/).and.not.match(/failing/);
  });
});
