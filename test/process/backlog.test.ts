import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { writeQueuedJobs, writeScheduledJobs } from '../../bench/backlog-file.js';
import { killAll, startService, waitUntilHealthy, type Child } from './child-service.js';

const WAITING = 1_000_000;
const MiB = 1024 * 1024;

/** The service's used heap, from its own metrics, once the start's garbage has had time to go. */
async function heapUsed(child: Child): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const text = await (await fetch(child.url('/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith('nodejs_heap_size_used_bytes '));
  return Number(line!.split(' ')[1]);
}

describe('process: the backlog lives in the store', function () {
  this.timeout(180_000);
  const dirs: string[] = [];
  afterEach(() => {
    killAll();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('holds a million waiting jobs on SQLite within 64 MiB of heap above an empty service', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'backlog-'));
    dirs.push(dir);
    const full = join(dir, 'full.db');
    writeQueuedJobs(full, WAITING);
    // The one job that gets the worker keeps it for the whole test: the rest wait.
    const env = { WORKERS: '1', QUEUE_SIZE: String(WAITING), WORK_MIN_MS: '600000', WORK_MAX_MS: '600000', LOG_LEVEL: 'warn' };

    const empty = await startService({ ...env, STORE: `sqlite:${join(dir, 'empty.db')}` });
    await waitUntilHealthy(empty, 30_000);
    const emptyHeap = await heapUsed(empty);

    const loaded = await startService({ ...env, STORE: `sqlite:${full}` });
    await waitUntilHealthy(loaded, 60_000);
    const stats = (await (await fetch(loaded.url('/stats'))).json()) as {
      states: Record<string, number>;
      queue: { used: number };
    };
    expect([stats.states.queued, stats.states.running, stats.queue.used]).to.deep.equal([WAITING - 1, 1, WAITING]);
    const loadedHeap = await heapUsed(loaded);

    const growth = loadedHeap - emptyHeap;
    if (process.env.REPORT_BACKLOG) {
      console.log(JSON.stringify({ empty_heap_mib: emptyHeap / MiB, loaded_heap_mib: loadedHeap / MiB, growth_mib: growth / MiB, file_mib: statSync(full).size / MiB }));
    }
    expect(growth).to.be.below(64 * MiB);
  });

  it('holds a million jobs scheduled a week ahead on SQLite within 64 MiB of heap above an empty service', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scheduled-'));
    dirs.push(dir);
    const full = join(dir, 'full.db');
    writeScheduledJobs(full, WAITING, Date.now() + 7 * 24 * 3_600_000);
    const env = { WORKERS: '1', QUEUE_SIZE: '64', SCHEDULED_LIMIT: String(WAITING), LOG_LEVEL: 'warn' };

    const empty = await startService({ ...env, STORE: `sqlite:${join(dir, 'empty.db')}` });
    await waitUntilHealthy(empty, 30_000);
    const emptyHeap = await heapUsed(empty);

    const loaded = await startService({ ...env, STORE: `sqlite:${full}` });
    await waitUntilHealthy(loaded, 60_000);
    const stats = (await (await fetch(loaded.url('/stats'))).json()) as { states: Record<string, number>; queue: { used: number } };
    expect([stats.states.scheduled, stats.states.queued, stats.queue.used]).to.deep.equal([WAITING, 0, 0]);
    // One more is refused: the limit counts what the file holds.
    const refused = await fetch(loaded.url('/jobs'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ delay_ms: 60_000 }),
    });
    expect(refused.status).to.equal(429);
    const loadedHeap = await heapUsed(loaded);

    const growth = loadedHeap - emptyHeap;
    if (process.env.REPORT_BACKLOG) {
      console.log(JSON.stringify({ empty_heap_mib: emptyHeap / MiB, loaded_heap_mib: loadedHeap / MiB, growth_mib: growth / MiB, file_mib: statSync(full).size / MiB }));
    }
    expect(growth).to.be.below(64 * MiB);
  });
});
