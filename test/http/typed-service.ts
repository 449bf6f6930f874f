/** A route-test service with job types of the test's choosing, on a fixed clock, over the memory store. */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { createApp } from '../../src/http/app.js';
import { createJobQueue } from '../../src/engine/job-queue.js';
import type { JobTypeDefinition } from '../../src/job-types/job-type.js';
import { createJobTypes } from '../../src/job-types/registry.js';

const backoff = { baseMs: 100, maxMs: 30_000, jitterMs: 100 };

export async function startTypedService(definitions: JobTypeDefinition[], { workers = 1, now = () => Date.UTC(2026, 0, 1) } = {}) {
  const config = Object.freeze({ ...loadConfig({}), workers, queueSize: 10 });
  const types = createJobTypes(definitions, {
    defaultType: definitions[0]!.name,
    maxRetries: 3,
    maxRetriesLimit: 20,
    timeoutMs: 0,
    backoff,
  });
  const queue = createJobQueue({ workers, queueSize: 10, backoff, jobTimeoutMs: 0, jobRetention: 100 }, { types, now, random: () => 0 });
  const server: Server = createApp({ queue, config, logger: pino({ level: 'silent' }) }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Requests send `connection: close`, so no idle keep-alive socket outlives the test (see support.ts).
  return {
    queue,
    url: (path: string) => base + path,
    async post(path: string, body: unknown) {
      const response = await fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as unknown };
    },
    async get(path: string) {
      const response = await fetch(base + path, { headers: { connection: 'close' } });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async stop() {
      await queue.drain(0);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
