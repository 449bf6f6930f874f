import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../../src/logger.js';
import type { ProcessorContext, ProcessorJob } from '../../src/processors/processor.js';

/** A fixture folder (or file) under `test/job-types/fixtures`, as an absolute path. */
export const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** A logger whose lines are kept, parsed, instead of written. */
export function capturedLogger(level: 'debug' | 'info' | 'silent' = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** A job as the engine gives it to a processor. */
export const job = (payload: unknown, overrides: Partial<ProcessorJob> = {}): ProcessorJob => ({
  id: 'job-1',
  type: 'test',
  payload,
  attempt: 1,
  max_retries: 3,
  ...overrides,
});

/** The engine's side of an attempt: a signal the test aborts, and the progress values reported. */
export function attemptContext(
  onProgress: (value: unknown) => void = () => {},
): ProcessorContext & { controller: AbortController; reported: unknown[] } {
  const controller = new AbortController();
  const reported: unknown[] = [];
  return {
    controller,
    reported,
    signal: controller.signal,
    progress: (value) => {
      reported.push(value);
      onProgress(value);
    },
  };
}

/** The rejection of `promise`; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got a value');
}
