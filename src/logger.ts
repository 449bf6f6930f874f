/**
 * The service's logger: pino, one JSON object per line on stdout. Levels are written as labels
 * (`"level":"warn"`), so a person or `grep` can read them without pino's number table.
 */
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/**
 * Creates the root logger. Writes synchronously, so that the lines logged just before `process.exit`
 * (the shutdown report) are never lost.
 *
 * @param level the least severe level written (`LOG_LEVEL`); `silent` writes nothing.
 * @param destination where the lines go; default stdout (file descriptor 1).
 */
export function createLogger(
  level: Config['logLevel'],
  destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true }),
): Logger {
  return pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
