import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { PermanentError } from '../../src/errors.js';
import type { JobTypeDefinition } from '../../src/job-types/job-type.js';
import { loadTaskModules } from '../../src/job-types/task-modules.js';
import { options as busyLoopOptions } from '../../examples/tasks/busy-loop.js';
import gzipSize, { options as gzipSizeOptions } from '../../examples/tasks/gzip-size.js';
import { attemptContext, capturedLogger, job, rejection } from './support.js';

const examples = fileURLToPath(new URL('../../examples/tasks', import.meta.url));

describe('the example task modules', function () {
  this.timeout(20_000); // busy-loop's thread boots for real
  let loaded: JobTypeDefinition[] = [];
  before(async () => {
    loaded = await loadTaskModules(examples, { logger: capturedLogger('silent').logger, workers: 2 });
  });
  after(async () => Promise.all(loaded.map((definition) => definition.close?.())));
  const type = (name: string) => loaded.find((definition) => definition.name === name)!;

  it('load as the types busy-loop (in threads) and gzip-size', () => {
    expect(loaded.map(({ name, options }) => ({ name, options }))).to.deep.equal([
      { name: 'busy-loop', options: { isolation: 'thread', concurrency: 4, timeout_ms: 10_000 } },
      { name: 'gzip-size', options: { max_retries: 1, timeout_ms: 5_000 } },
    ]);
    expect([busyLoopOptions, gzipSizeOptions]).to.deep.equal(loaded.map((definition) => definition.options));
  });

  it('gzip-size measures the JSON of the payload, and reports its stages', async () => {
    const payload = { words: Array.from({ length: 200 }, (_, i) => `word-${i % 10}`) };
    const json = Buffer.from(JSON.stringify(payload));
    const ctx = attemptContext();
    expect(await type('gzip-size').processor(job(payload), ctx)).to.deep.equal({
      bytes: json.length,
      gzipped_bytes: gzipSync(json).length,
      sha256: createHash('sha256').update(json).digest('hex'),
    });
    expect(ctx.reported).to.deep.equal([
      { stage: 'compressing', bytes: json.length },
      { stage: 'hashing', bytes: json.length },
    ]);
  });

  it('gzip-size fails a job without a payload at once', async () => {
    const error = await rejection(gzipSize(null, { ...attemptContext(), id: 'a', type: 'gzip-size', attempt: 1, log: capturedLogger('silent').logger }));
    expect(error).to.be.instanceOf(PermanentError);
  });

  it('busy-loop spins in its thread for payload.ms, and refuses a bad ms for good', async () => {
    const busyLoop = type('busy-loop');
    const { spun_ms } = (await busyLoop.processor(job({ ms: 30 }), attemptContext())) as { spun_ms: number };
    expect(spun_ms).to.be.within(30, 1000);
    const error = (await rejection(busyLoop.processor(job({ ms: -5 }), attemptContext()))) as Error;
    expect([error.name, error.message]).to.deep.equal(['PermanentError', 'payload.ms must be a non-negative integer (milliseconds), got -5']);
  });
});
