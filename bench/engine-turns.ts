/**
 * Not a row of the table: a probe for row 1's open question. The engine's CPU per job when attempts settle in
 * the same turn of the event loop as their submission (a resolved promise, as in row 2) and when they settle
 * on the next turn (`setImmediate`, as the service's no-op processor does), with submissions arriving one per
 * turn from 32 producers, as requests would. Each kind runs in a fresh process, alternating:
 *
 *   npm run bench:build && node dist/bench/engine-turns.js [rounds=2]
 *
 * Prints one line per round. Run `node --trace-gc dist/bench/engine-turns.js <same-turn|next-turn>` to see the
 * collector's share.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createJobQueue } from '../src/job-queue.js';
import { tuneRuntime } from '../src/runtime.js';

const JOBS = 200_000;
const PRODUCERS = 32;

async function measure(kind: 'same-turn' | 'next-turn'): Promise<number> {
  tuneRuntime();
  const processor =
    kind === 'same-turn' ? () => Promise.resolve(undefined) : () => new Promise<void>((resolve) => setImmediate(resolve));
  const queue = createJobQueue(
    { workers: 64, queueSize: 1_000_000, backoff: { baseMs: 0, maxMs: 0, jitterMs: 0 }, jobTimeoutMs: 0, jobRetention: 10_000 },
    { processor },
  );
  let done = 0;
  let waiter: { target: number; resolve: () => void } | undefined;
  queue.on('transition', ({ to }) => {
    if (to !== 'done') return;
    done++;
    if (waiter && done >= waiter.target) waiter.resolve();
  });
  const run = async (count: number) => {
    const target = done + count;
    let sent = 0;
    await Promise.all(
      Array.from({ length: PRODUCERS }, async () => {
        while (sent < count) {
          sent++;
          await queue.submit({ payload: null, max_retries: 0 });
          await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    if (done < target) await new Promise<void>((resolve) => (waiter = { target, resolve }));
  };
  await run(JOBS / 10); // warm-up
  const cpu0 = process.cpuUsage();
  await run(JOBS);
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / JOBS;
}

const kind = process.argv[2];
if (kind === 'same-turn' || kind === 'next-turn') {
  console.log(`${kind}: ${(await measure(kind)).toFixed(1)} µs/job`);
} else {
  const rounds = Number(kind ?? 2);
  for (let round = 1; round <= rounds; round++) {
    for (const each of ['same-turn', 'next-turn']) {
      spawnSync(process.execPath, [fileURLToPath(import.meta.url), each], { stdio: 'inherit' });
    }
  }
}
