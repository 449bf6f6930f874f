/** The sizes of one benchmark run. `BENCH_SCALE=full` (the default of `npm run bench`) or `smoke` (the test). */
export interface Scale {
  name: 'full' | 'smoke';
  /** Alternating rounds of the side-by-side rows (1 and 2). */
  rounds: number;
  /** wrk: seconds per measured round, and of the unmeasured warm-up of each side. */
  wrkSeconds: number;
  wrkWarmUpSeconds: number;
  /** Row 2: jobs per round. */
  engineJobs: number;
  /** Rows 3 and 6: jobs pushed through POST /jobs/batch, and alternating rounds of row 3. */
  endToEndJobs: number;
  endToEndRounds: number;
  /** Row 4: jobs with every record retained; then the leak check's retention and its two checkpoints. */
  memoryJobs: number;
  leakRetention: number;
  leakCheckpoints: [number, number];
  /** Row 4c: jobs left waiting in the queue. */
  queuedJobs: number;
  /** Row 4d: jobs waiting in a SQLite store. */
  backlogJobs: number;
  /** Row 5: seconds of paced submissions measured (after one unmeasured second). */
  latencySeconds: number;
  /**
   * Rows 2 and 4 in this process rather than a fresh one each: quicker, and good enough for the smoke run,
   * whose figures mean nothing anyway.
   */
  inProcess: boolean;
  /** Row 6: at most this many retried jobs have their history read. */
  timerSample: number;
  /** Row 7: jobs per side of each round (HTTP target, then the no-op task module). */
  httpTargetJobs: number;
  /**
   * Row 8: alternating rounds (fewer than row 1's: one round of ours with 50,000 jobs took 17 minutes while
   * claims waited on the admission's connections), and jobs per side of each round (ours with 1 and 2
   * instances, pg-boss, graphile-worker).
   */
  postgresRounds: number;
  postgresJobs: number;
  /** Row 8c: submit → start samples per side of each round. */
  postgresLatencySamples: number;
}

export const SCALES: Record<Scale['name'], Scale> = {
  full: {
    name: 'full',
    rounds: 3,
    wrkSeconds: 10,
    wrkWarmUpSeconds: 3,
    engineJobs: 200_000,
    endToEndJobs: 200_000,
    endToEndRounds: 2,
    memoryJobs: 1_000_000,
    leakRetention: 10_000,
    leakCheckpoints: [100_000, 1_000_000],
    queuedJobs: 100_000,
    backlogJobs: 1_000_000,
    latencySeconds: 10,
    inProcess: false,
    timerSample: 20_000,
    httpTargetJobs: 20_000,
    postgresRounds: 2,
    postgresJobs: 50_000,
    postgresLatencySamples: 100,
  },
  smoke: {
    name: 'smoke',
    rounds: 1,
    wrkSeconds: 1,
    wrkWarmUpSeconds: 0,
    engineJobs: 2000,
    endToEndJobs: 2000,
    endToEndRounds: 1,
    memoryJobs: 5000,
    leakRetention: 1000,
    leakCheckpoints: [2000, 6000],
    queuedJobs: 2000,
    backlogJobs: 2000,
    latencySeconds: 1,
    inProcess: true,
    timerSample: 200,
    httpTargetJobs: 500,
    postgresRounds: 1,
    postgresJobs: 200,
    postgresLatencySamples: 5,
  },
};

export function scaleFromEnv(value: string | undefined): Scale {
  const name = value === undefined || value === '' ? 'full' : value;
  if (name !== 'full' && name !== 'smoke') throw new Error(`BENCH_SCALE must be full or smoke, got ${name}`);
  return SCALES[name];
}
