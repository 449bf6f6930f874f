/**
 * V8 tuning for this service's allocation pattern, applied by the entry point before anything else runs.
 *
 * Every job is an XState actor, and every transition allocates a few short-lived objects (snapshots, action
 * arguments). While many jobs wait in the queue, V8's allocation-site pretenuring sees those sites' objects
 * survive and starts allocating them straight into the old generation, where the short-lived ones become
 * garbage for the slow mark-compact collector. With pretenuring off they stay in the young generation and die
 * there cheaply. It cut the engine's CPU per job by about a third (docs/performance.md, "What changed").
 */
import v8 from 'node:v8';

const V8_FLAGS = ['--no-allocation-site-pretenuring'] as const;

export function tuneRuntime(): void {
  for (const flag of V8_FLAGS) v8.setFlagsFromString(flag);
}
