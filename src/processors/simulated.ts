import type { Processor, ProcessorJob } from './processor.js';

export interface SimulationOptions {
  /** Shortest work time, ms. Default 100. */
  minMs: number;
  /** Longest work time, ms. Default 150. */
  maxMs: number;
  /** Probability in [0, 1] that an attempt fails. Default 0.2. */
  failureRate: number;
}

/**
 * The original Go service's processor: works for a uniform time in [minMs, maxMs] and fails with probability
 * failureRate. Time comes from the global timers (which sinon fakes in tests) and randomness from `random`.
 */
export function createSimulatedProcessor(options: SimulationOptions, random: () => number = Math.random): Processor {
  return (job, context) => {
    const workMs = options.minMs + Math.round(random() * (options.maxMs - options.minMs));
    const fails = random() < options.failureRate;
    if (workMs === 0) {
      // No work: the attempt ends on the event loop's next turn, as a no-op async processor's would, with no
      // timer (at least 1 ms in Node) and no abort listener (nothing is left to abort by then). It still yields
      // to the event loop, so a backlog of such jobs cannot hold off timers and requests.
      return new Promise((resolve, reject) => setImmediate(() => (fails ? reject(failure(job)) : resolve(undefined))));
    }
    const { signal } = context;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(abortReason(signal));
      const finish = () => {
        signal.removeEventListener('abort', onAbort);
        if (fails) reject(failure(job));
        else resolve(undefined);
      };
      const timer = setTimeout(finish, workMs);
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  };
}

const failure = (job: ProcessorJob) => new Error(`simulated failure (attempt ${job.attempt})`);

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
