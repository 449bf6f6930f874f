/**
 * The service's logger: pino, one JSON object per line on stdout. Levels are written as labels
 * (`"level":"warn"`), so a person or `grep` can read them without pino's number table.
 */
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/**
 * Where a job payload can sit in a log line's fields: a job or record (`payload`), one level down (`job.payload`,
 * `err.payload`), a request body (`body.payload`, and each item of a batch).
 */
export const PAYLOAD_PATHS = ['payload', '*.payload', 'body.payload', 'body.jobs[*].payload'];
/** What a payload is replaced with unless LOG_PAYLOADS=true. */
export const HIDDEN_PAYLOAD = '[hidden: LOG_PAYLOADS=true shows payloads]';

/**
 * Creates the root logger. Writes synchronously, so that the lines logged just before `process.exit`
 * (the shutdown report) are never lost.
 *
 * @param level the least severe level written (`LOG_LEVEL`); `silent` writes nothing.
 * @param destination where the lines go; default stdout (file descriptor 1).
 * @param logPayloads LOG_PAYLOADS: unless true, a payload in a line's fields is replaced (PAYLOAD_PATHS), so that
 *   job data (which may be personal or secret) never reaches the log by accident. Default false.
 */
export function createLogger(
  level: Config['logLevel'],
  destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true }),
  logPayloads = false,
): Logger {
  return pino(
    {
      level,
      ...(logPayloads ? {} : { redact: { paths: PAYLOAD_PATHS, censor: HIDDEN_PAYLOAD } }),
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
