/**
 * `npm run bench`: runs every benchmark row, prints the table, and writes bench/results.json.
 * `BENCH_SCALE=smoke npm run bench` runs the same harness at tiny sizes. See docs/performance.md.
 */
import { join } from 'node:path';
import { formatTable, runBench } from './harness.js';
import { ROOT } from './processes.js';
import { scaleFromEnv } from './scale.js';

const scale = scaleFromEnv(process.env.BENCH_SCALE);
const resultsPath = join(ROOT, 'bench', 'results.json');
const only = process.env.BENCH_ROWS ? new Set(process.env.BENCH_ROWS.split(',').map((row) => row.trim())) : undefined;
// A partial run prints its table but leaves results.json, the record of the last full run, alone.
const results = await runBench({
  scale,
  resultsPath: only ? undefined : resultsPath,
  only,
  log: (line) => console.log(`[bench] ${line}`),
});
console.log('');
console.log(formatTable(results));
if (!only) console.log(`Written to ${resultsPath}`);
