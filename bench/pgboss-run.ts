/**
 * One round of the pg-boss peer, in a fresh process: `bench/pgboss-run <database url> <schema> <jobs>
 * <concurrency>`. pg-boss installs itself in the schema, which must not exist yet (the harness drops it after).
 * Jobs are added with `insert` in chunks of 1000 (the peer of our batch endpoint), while one `work` with a
 * batch of `concurrency` jobs completes them with a no-op handler. Prints one JSON line: jobs/s from the first
 * insert to the last job handled, and the configuration used.
 *
 * The settings are pg-boss's fast path, which it ships switched off: LISTEN/NOTIFY wake-ups (`useListenNotify`
 * and the queue's `notify`) and burst mode (`burstWhenBatchFull`: fetch again at once while batches come back
 * full), with the shortest poll it allows. Cron scheduling, unused here, is off.
 */
import { PgBoss } from 'pg-boss';

const [url, schema, jobsArg, concurrencyArg] = process.argv.slice(2);
const jobs = Number(jobsArg);
const concurrency = Number(concurrencyArg);
const QUEUE = 'bench';

const PG_BOSS_CONFIG = {
  constructor: { schema: schema!, useListenNotify: true, schedule: false },
  queue: { notify: true, retryLimit: 0 },
  work: { batchSize: concurrency, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
};

const boss = new PgBoss({ connectionString: url!, ...PG_BOSS_CONFIG.constructor });
let errors = 0;
boss.on('error', (error) => {
  if (++errors <= 3) console.error(String(error));
});
await boss.start();
await boss.createQueue(QUEUE, PG_BOSS_CONFIG.queue);

let handled = 0;
let resolveAll!: () => void;
const allHandled = new Promise<void>((resolve) => (resolveAll = resolve));
await boss.work(QUEUE, PG_BOSS_CONFIG.work, async (batch) => {
  handled += batch.length;
  if (handled >= jobs) resolveAll();
});

const wall0 = performance.now();
for (let added = 0; added < jobs; added += 1000) {
  const count = Math.min(1000, jobs - added);
  await boss.insert(QUEUE, Array.from({ length: count }, () => ({ data: {} })));
}
await allHandled;
const wallMs = performance.now() - wall0;
await boss.stop({ graceful: true, timeout: 5000 });
console.log(JSON.stringify({ jobs, jobs_per_s: (jobs / wallMs) * 1000, errors, config: PG_BOSS_CONFIG }));
process.exit(0);
