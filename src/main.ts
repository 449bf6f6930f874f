/**
 * The entry point (`npm start`, and `node dist/src/main.js` in the Docker image). Reads the config, starts
 * the service, and turns SIGINT/SIGTERM into a graceful shutdown; a second signal stops at once.
 *
 * Exit codes: 0 after a clean drain (with a durable store: once everything is written, even past the
 * deadline), 1 when jobs were left unfinished in the memory store, when a durable store's final write failed
 * (a full disk), or when the service failed, 2 for a bad configuration (a non-loopback HOST with no access
 * token and no ALLOW_UNAUTHENTICATED=true included), job types that cannot be loaded (a
 * task module, the types file), or a job store file that cannot be opened (locked by another instance, corrupt).
 * The signal handling itself is in `shutdown-signals.ts`.
 */
import { tuneRuntime } from './runtime.js';
import { ConfigError, isLoopback, loadConfig, type Config } from './config.js';
import { JobTypesError, StoreOpenError } from './errors.js';
import { loadJobTypes } from './job-types/load-job-types.js';
import { createLogger } from './logger.js';
import { startService } from './server.js';
import { closeOnSignals } from './shutdown-signals.js';

tuneRuntime();

let config: Readonly<Config>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  for (const problem of error.problems) process.stderr.write(`${problem}\n`);
  process.exit(2);
}

const logger = createLogger(config.logLevel, undefined, config.logPayloads);
// Said at every start, so that an open service on a network is a choice someone can see in the log.
if (config.access.tokens.length === 0 && !isLoopback(config.host)) {
  logger.warn(
    { host: config.host },
    'ALLOW_UNAUTHENTICATED=true: no access token is configured, and anyone who can reach the port may submit, ' +
      'read, cancel and retry every job',
  );
}
try {
  const types = await loadJobTypes(config, logger);
  const service = await startService(config, logger, { types });
  closeOnSignals(service, logger);
} catch (err) {
  if (err instanceof JobTypesError) {
    // Like a bad configuration: one line per problem, each naming its file, no stack trace, exit code 2.
    for (const problem of err.problems) process.stderr.write(`${problem}\n`);
    process.exit(2);
  }
  if (err instanceof StoreOpenError) {
    // Like a bad configuration: one line that names the file, no stack trace, exit code 2.
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  logger.fatal({ err }, 'could not start');
  process.exit(1);
}
