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
import { tuneRuntime } from '../src/runtime.js';
import { engineLoad } from './engine-load.js';

const JOBS = 200_000;
const PRODUCERS = 32;

async function measure(kind: 'same-turn' | 'next-turn'): Promise<number> {
  tuneRuntime();
  const load = engineLoad({
    workers: 64,
    retention: 10_000,
    processor: kind === 'same-turn' ? undefined : () => new Promise<void>((resolve) => setImmediate(resolve)),
  });
  let submitted = 0;
  const run = async (count: number) => {
    const end = submitted + count;
    await Promise.all(
      Array.from({ length: PRODUCERS }, async () => {
        while (submitted < end) {
          submitted++;
          await load.queue.submit({ payload: null, max_retries: 0 });
          await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    await load.finishedAtLeast(end);
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
