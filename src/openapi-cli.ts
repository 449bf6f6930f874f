/**
 * `npm run openapi > openapi.json`: prints the OpenAPI document `GET /openapi.json` serves, for the
 * configuration in the environment (MAX_RETRIES_LIMIT shows in it), without starting the service: for
 * client generators and linters (`npm run lint:openapi`).
 */
import pino from 'pino';
import { loadConfig } from './config.js';
import { createJobQueue } from './engine/job-queue.js';
import { appRouter, createApp } from './http/app.js';
import { openApiDocument } from './http/openapi.js';

const config = loadConfig();
// The routes document themselves as the app adds them; a queue that never runs a job is enough for that.
const queue = createJobQueue(
  { workers: 1, queueSize: 1, backoff: config.backoff, jobTimeoutMs: 0, jobRetention: 1 },
  { processor: async () => undefined },
);
const app = createApp({ queue, config, logger: pino({ level: 'silent' }) });
process.stdout.write(JSON.stringify(openApiDocument(appRouter(app)!), null, 2) + '\n');
