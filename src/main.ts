/**
 * The entry point (`npm start`, and `node dist/src/main.js` in the Docker image). Reads the config, starts
 * the service, and turns SIGINT/SIGTERM into a graceful shutdown; a second signal stops at once.
 *
 * Exit codes: 0 after a clean drain, 1 when jobs were left unfinished (or the service failed), 2 for a bad
 * configuration.
 */
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { startService } from './server.js';

let config: Readonly<Config>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  for (const problem of error.problems) process.stderr.write(`${problem}\n`);
  process.exit(2);
}

const logger = createLogger(config.logLevel);
try {
  const service = await startService(config, logger);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      logger.info({ signal }, 'signal received');
      service.close().then(
        (report) => process.exit(report.exitCode),
        (err: unknown) => {
          logger.fatal({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
} catch (err) {
  logger.fatal({ err }, 'could not start');
  process.exit(1);
}
