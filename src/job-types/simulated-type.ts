import type { Processor } from '../processors/processor.js';
import type { JobTypeDefinition } from './job-type.js';

/**
 * The built-in type `simulated`, run by `processor`: the original service's simulation
 * (`createSimulatedProcessor`, WORK_MIN_MS, WORK_MAX_MS, FAILURE_RATE), or a test's stand-in.
 */
export function simulatedType(processor: Processor): JobTypeDefinition {
  return { name: 'simulated', kind: 'simulated', options: {}, processor, source: 'built-in' };
}
