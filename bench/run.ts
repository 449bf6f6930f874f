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
const results = await runBench({ scale, resultsPath, log: (line) => console.log(`[bench] ${line}`) });
console.log('');
console.log(formatTable(results));
console.log(`Written to ${resultsPath}`);
