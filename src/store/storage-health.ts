/**
 * Whether the job store can write, told from the outcome of its commits, so that an outage is visible:
 * - one `error` line when commits start failing and one `info` line when they succeed again (never one per
 *   failed commit: a failed commit is retried every 250 ms);
 * - `failures`, every failed commit since start (the metric `jobsvc_store_commit_failures_total`);
 * - `writable`, false from a failed commit until the next one that succeeds (`/readyz` answers 503
 *   `storage_unavailable` meanwhile, so a load balancer sends submissions elsewhere).
 * A store whose writes cannot fail (the memory store) has no commit outcomes: it is always writable.
 */
import type { Logger } from 'pino';
import type { JobStore } from './job-store.js';

export interface StorageHealth {
  readonly writable: boolean;
  readonly failures: number;
  /** Stops watching the store. */
  close(): void;
}

/** A store that cannot fail, for an app made without one (tests). */
export const ALWAYS_WRITABLE: StorageHealth = { writable: true, failures: 0, close() {} };

export function watchStorage(store: JobStore, logger: Logger, now: () => number = Date.now): StorageHealth {
  let writable = true;
  let failures = 0;
  let outageStart = 0;
  let outageFailures = 0;
  const unsubscribe =
    store.onCommitOutcome?.((error) => {
      if (error === null) {
        if (writable) return;
        writable = true;
        logger.info(
          { failed_commits: outageFailures, outage_ms: now() - outageStart },
          'job store: commits succeed again',
        );
        return;
      }
      failures++;
      outageFailures++;
      if (!writable) return;
      writable = false;
      outageStart = now();
      outageFailures = 1;
      logger.error(
        { reason: error instanceof Error ? error.message : String(error) },
        'job store: commits are failing; submissions are refused with 503 storage_unavailable until one succeeds',
      );
    }) ?? (() => {});
  return {
    get writable() {
      return writable;
    },
    get failures() {
      return failures;
    },
    close: unsubscribe,
  };
}
