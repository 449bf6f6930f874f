/**
 * What `main.ts` does with SIGINT and SIGTERM: the first one starts the graceful shutdown (`service.close()`)
 * and, once it is over, exits with the report's code; a second one stops at once (`close()` again). Kept apart
 * from `main.ts`, which runs the service as soon as it is imported, so that a test can install the same
 * handlers on a service of its own.
 */
import type { Logger } from './logger.js';
import type { Service } from './server.js';

/** How soon after a signal the same signal again counts as a relayed copy of it, ms. */
export const RELAYED_SIGNAL_MS = 300;

export interface ShutdownSignalOptions {
  /** Default SIGINT and SIGTERM. */
  signals?: readonly NodeJS.Signals[];
  /** Called with the exit code once the shutdown is over. Default `process.exit`. */
  exit?: (code: number) => void;
}

/** Installs the handlers; returns the function that removes them. */
export function closeOnSignals(
  service: Pick<Service, 'close'>,
  logger: Logger,
  { signals = ['SIGINT', 'SIGTERM'], exit = (code) => process.exit(code) }: ShutdownSignalOptions = {},
): () => void {
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  const handler = (signal: NodeJS.Signals) => {
    const at = Date.now();
    // Under `npm start`, one Ctrl-C reaches this process twice: from the terminal (the whole process group)
    // and relayed by npm and tsx. A copy that soon after the first is not a request to stop at once.
    if (first?.signal === signal && at - first.at < RELAYED_SIGNAL_MS) return;
    first ??= { signal, at };
    logger.info({ signal }, 'signal received');
    service.close().then(
      (report) => exit(report.exitCode),
      (err: unknown) => {
        logger.fatal({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
