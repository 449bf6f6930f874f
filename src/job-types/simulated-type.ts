import type { Config } from '../config.js';
import type { Processor } from '../processors/processor.js';
import { createSimulatedProcessor } from '../processors/simulated.js';
import type { JobTypeDefinition } from './job-type.js';

/** The built-in type `simulated`: the original service's processor (WORK_MIN_MS, WORK_MAX_MS, FAILURE_RATE). */
export function simulatedType(work: Config['work'], processor: Processor = createSimulatedProcessor(work)): JobTypeDefinition {
  return { name: 'simulated', kind: 'simulated', options: {}, processor, source: 'built-in' };
}
