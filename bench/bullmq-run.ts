/**
 * One round of the BullMQ peer, in a fresh process: `node --import tsx bench/bullmq-run.ts <redis port> <jobs>
 * <concurrency> <queue name>`. Adds the jobs with `Queue.addBulk` in chunks of 1000 (the peer of our batch
 * endpoint), while a `Worker` with a no-op processor completes them; completed jobs are kept (BullMQ's
 * default). Prints one JSON line: jobs/s from the first add to the last completion.
 *
 * ioredis is installed beside bullmq: without it BullMQ prints a connection error in a tight loop. Errors are
 * counted here, and the process gives up after a few, so nothing can flood the output.
 */
import { Queue, Worker } from 'bullmq';

const [portArg, jobsArg, concurrencyArg, name] = process.argv.slice(2);
const jobs = Number(jobsArg);
const connection = {
  host: '127.0.0.1',
  port: Number(portArg),
  maxRetriesPerRequest: null,
  // Gives up after a few reconnects rather than retrying forever.
  retryStrategy: (times: number) => (times > 5 ? null : 200),
};

let errors = 0;
const onError = (error: unknown) => {
  errors++;
  if (errors <= 3) console.error(String(error));
  if (errors > 20) {
    console.error('too many errors; giving up');
    process.exit(3);
  }
};

const queue = new Queue(name!, { connection });
queue.on('error', onError);
let completed = 0;
let resolveAll!: () => void;
const allDone = new Promise<void>((resolve) => (resolveAll = resolve));
const worker = new Worker(name!, async () => undefined, { connection, concurrency: Number(concurrencyArg) });
worker.on('error', onError);
worker.on('completed', () => {
  if (++completed === jobs) resolveAll();
});
await worker.waitUntilReady();
await queue.waitUntilReady();

const wall0 = performance.now();
for (let added = 0; added < jobs; added += 1000) {
  const count = Math.min(1000, jobs - added);
  await queue.addBulk(Array.from({ length: count }, () => ({ name: 'job', data: null })));
}
await allDone;
const wallMs = performance.now() - wall0;
await worker.close();
await queue.close();
console.log(JSON.stringify({ jobs, jobs_per_s: (jobs / wallMs) * 1000, errors }));
process.exit(0);
