/**
 * A client generated from the live document, as a client team would make one: `openapi-typescript` with no
 * flags, then `openapi-fetch`. `fixtures/every-operation.ts` calls every operation through it with no casts;
 * it must type-check under `strict` next to the generated types, and, run against the service, reach every
 * operation the document lists without a 5xx.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { startService, type Service } from '../http/support.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixtureUrl = new URL('./fixtures/every-operation.ts', import.meta.url);
const fixture = fileURLToPath(fixtureUrl);

/** The fixture, loaded at run time: it imports the generated types, which only the test's own tsc run sees. */
async function loadFixture(): Promise<{ callEveryOperation(baseUrl: string): Promise<string[]> }> {
  return import(fixtureUrl.href);
}

/** `METHOD /path` of every operation of `document`. */
function operations(document: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

describe('a client generated from the live document (openapi-typescript, openapi-fetch)', function () {
  // Generating the types and one tsc run over them: a few seconds on a loaded machine.
  this.timeout(60_000);
  let service: Service;
  let document: { paths: Record<string, Record<string, unknown>> };
  let dir: string;
  before(async () => {
    service = await startService({ config: { workers: 1, queueSize: 2 } });
    document = (await service.get('/openapi.json')).body as typeof document;
    dir = mkdtempSync(join(tmpdir(), 'generated-client-'));
  });
  after(async () => {
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('type-checks, under strict, a program that calls every operation without a cast', async () => {
    // What openapi-typescript would write for `npx openapi-typescript http://…/openapi.json -o api.d.ts`.
    writeFileSync(join(dir, 'api.d.ts'), astToString(await openapiTS(JSON.stringify(document))));
    copyFileSync(fixture, join(dir, 'every-operation.ts'));
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022', 'DOM', 'DOM.Iterable'],
          types: [],
          // The generated file is checked too, not skipped as a library.
          skipLibCheck: false,
        },
        files: ['api.d.ts', 'every-operation.ts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
    expect({ status: tsc.status, output: tsc.stdout + tsc.stderr }).to.deep.equal({ status: 0, output: '' });
  });

  it('reaches every operation of the document, none with a 5xx', async () => {
    const seen = await (await loadFixture()).callEveryOperation(service.url(''));
    const called = [...new Set(seen.map((line) => line.split(' ').slice(0, 2).join(' ')))].sort();
    expect(called).to.deep.equal(operations(document).sort());
    expect(seen.filter((line) => Number(line.split(' ')[2]) >= 500)).to.deep.equal([]);
    // HEAD /events gets no answer until the event stream answers HEAD; nothing else may go unanswered.
    expect(seen.filter((line) => line.endsWith('unanswered') && line !== 'HEAD /events unanswered')).to.deep.equal([]);
  });
});
