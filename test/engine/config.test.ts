import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { problemsOf } from '../helpers/config.js';


describe('config', () => {
  it('has the documented defaults, frozen', () => {
    const config = loadConfig({});
    expect(config).to.deep.equal({
      port: 8080,
      host: '127.0.0.1',
      workers: 4,
      queueSize: 64,
      backoff: { baseMs: 100, maxMs: 30_000, jitterMs: 100 },
      jobTimeoutMs: 0,
      work: { minMs: 100, maxMs: 150, failureRate: 0.2 },
      jobRetention: 10_000,
      store: { kind: 'sqlite', path: './data/jobs.db' },
      postgres: { schema: 'jobs', poolSize: 10, connectTimeoutMs: 10_000, pollMs: 1000, leaseMs: 30_000 },
      durability: 'normal',
      maxRetriesLimit: 20,
      maxBodyBytes: 65_536,
      shutdownTimeoutMs: 30_000,
      logLevel: 'info',
      defaultJobType: 'simulated',
      tasksDir: { path: './tasks', explicit: false },
      jobTypesFile: { path: './job-types.json', explicit: false },
      webhookSecret: null,
      retryAfterMaxMs: 3_600_000,
      resultMaxBytes: 65_536,
      scheduledLimit: 1_000_000,
      maxDelayMs: 31_536_000_000,
      access: { tokens: [], allowUnauthenticated: false },
      corsOrigins: [],
      allowedHosts: [],
      http: {
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        maxConnections: 1024,
        maxEventStreams: 100,
        listMaxBytes: 1_048_576,
      },
      rateLimitPerS: 0,
      logPayloads: false,
      environment: {},
    });
    expect(Object.isFrozen(config)).to.equal(true);
    expect(Object.isFrozen(config.backoff)).to.equal(true);
  });

  it('reads every variable', () => {
    const env = {
      PORT: '0', HOST: '127.0.0.1', WORKERS: '1024', QUEUE_SIZE: '1000000', BACKOFF_BASE_MS: '5',
      BACKOFF_MAX_MS: '50', BACKOFF_JITTER_MS: '0', JOB_TIMEOUT_MS: '250', WORK_MIN_MS: '0', WORK_MAX_MS: '0',
      FAILURE_RATE: '1', JOB_RETENTION: '0', MAX_RETRIES_LIMIT: '7', MAX_BODY_BYTES: '1024',
      SHUTDOWN_TIMEOUT_MS: '10', LOG_LEVEL: 'warn', STORE: 'sqlite:/var/lib/jobs/q.db', DURABILITY: 'full',
      DEFAULT_JOB_TYPE: 'mail.send', TASKS_DIR: '/srv/tasks', JOB_TYPES_FILE: '/etc/jobs/types.json',
      WEBHOOK_SECRET: 'whsec_c2VjcmV0', RETRY_AFTER_MAX_MS: '60000', RESULT_MAX_BYTES: '0', SCHEDULED_LIMIT: '5', MAX_DELAY_MS: '60000',
      API_TOKEN: 'a-secret-of-16-chars', ALLOW_UNAUTHENTICATED: 'true',
      CORS_ORIGINS: 'https://ops.example.com, http://localhost:3000', PG_SCHEMA: 'queue_2', PG_POOL_SIZE: '3',
      PG_CONNECT_TIMEOUT_MS: '0', PG_POLL_MS: '10', LEASE_MS: '100',
      ALLOWED_HOSTS: 'Jobs.example.com, localhost, [fd00::1]', HTTP_HEADERS_TIMEOUT_MS: '2000', HTTP_REQUEST_TIMEOUT_MS: '3000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '4000', MAX_CONNECTIONS: '50', MAX_EVENT_STREAMS: '7', LIST_MAX_BYTES: '4096',
      RATE_LIMIT_PER_S: '20', LOG_PAYLOADS: 'true',
    };
    const config = loadConfig(env);
    expect(config).to.deep.equal({
      port: 0,
      host: '127.0.0.1',
      workers: 1024,
      queueSize: 1_000_000,
      backoff: { baseMs: 5, maxMs: 50, jitterMs: 0 },
      jobTimeoutMs: 250,
      work: { minMs: 0, maxMs: 0, failureRate: 1 },
      jobRetention: 0,
      store: { kind: 'sqlite', path: '/var/lib/jobs/q.db' },
      postgres: { schema: 'queue_2', poolSize: 3, connectTimeoutMs: 0, pollMs: 10, leaseMs: 100 },
      durability: 'full',
      maxRetriesLimit: 7,
      maxBodyBytes: 1024,
      shutdownTimeoutMs: 10,
      logLevel: 'warn',
      defaultJobType: 'mail.send',
      tasksDir: { path: '/srv/tasks', explicit: true },
      jobTypesFile: { path: '/etc/jobs/types.json', explicit: true },
      webhookSecret: 'whsec_c2VjcmV0',
      retryAfterMaxMs: 60_000,
      resultMaxBytes: 0,
      scheduledLimit: 5,
      maxDelayMs: 60_000,
      access: {
        tokens: [
          {
            name: 'API_TOKEN',
            sha256: createHash('sha256').update('a-secret-of-16-chars').digest('hex'),
            scopes: ['submit', 'read', 'operate', 'debug', 'metrics'],
          },
        ],
        allowUnauthenticated: true,
      },
      corsOrigins: ['https://ops.example.com', 'http://localhost:3000'],
      allowedHosts: ['jobs.example.com', 'localhost', 'fd00::1'],
      http: {
        headersTimeoutMs: 2000,
        requestTimeoutMs: 3000,
        keepAliveTimeoutMs: 4000,
        maxConnections: 50,
        maxEventStreams: 7,
        listMaxBytes: 4096,
      },
      rateLimitPerS: 20,
      logPayloads: true,
      environment: env,
    });
  });

  it('reads STORE=memory and a PostgreSQL URL, and refuses a STORE that is none of the three kinds', () => {
    expect(loadConfig({ STORE: 'memory' }).store).to.deep.equal({ kind: 'memory' });
    for (const url of ['postgres://app:pw@db:5432/jobs', 'postgresql://localhost/jobs']) {
      expect(loadConfig({ STORE: url }).store).to.deep.equal({ kind: 'postgres', url });
    }
    const expected = 'expected `memory`, `sqlite:<path>` or `postgres://user[:password]@host[:port]/database`';
    expect(problemsOf({ STORE: 'sqlite:', DURABILITY: 'paranoid', PG_SCHEMA: 'Jobs; DROP' })).to.deep.equal([
      `STORE="sqlite:" is invalid: ${expected}`,
      'PG_SCHEMA="Jobs; DROP" is invalid: expected a lower-case identifier (`^[a-z_][a-z0-9_]{0,62}$`)',
      'DURABILITY="paranoid" is invalid: expected one of normal, full',
    ]);
    expect(problemsOf({ STORE: 'mysql://db/jobs' })).to.deep.equal([`STORE="mysql://db/jobs" is invalid: ${expected}`]);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ WORKERS: '', LOG_LEVEL: '' })).to.include({ workers: 4, logLevel: 'info' });
  });

  it('names each bad variable, its value and what is allowed, one line each', () => {
    expect(problemsOf({ WORKERS: 'abc', QUEUE_SIZE: '-1', FAILURE_RATE: '1.5', LOG_LEVEL: 'loud', PORT: '70000' })).to.deep.equal([
      'PORT="70000" is invalid: expected an integer from 0 to 65535',
      'WORKERS="abc" is invalid: expected an integer from 1 to 1024',
      'QUEUE_SIZE="-1" is invalid: expected an integer from 0 to 1000000',
      'FAILURE_RATE="1.5" is invalid: expected a number from 0 to 1',
      'LOG_LEVEL="loud" is invalid: expected one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('rejects fractions and zero where an integer of at least 1 is needed', () => {
    expect(problemsOf({ WORKERS: '2.5' })).to.deep.equal(['WORKERS="2.5" is invalid: expected an integer from 1 to 1024']);
    expect(problemsOf({ WORKERS: '0' })).to.deep.equal(['WORKERS="0" is invalid: expected an integer from 1 to 1024']);
  });

  it('requires WORK_MIN_MS ≤ WORK_MAX_MS', () => {
    expect(problemsOf({ WORK_MIN_MS: '200', WORK_MAX_MS: '100' })).to.deep.equal([
      'WORK_MIN_MS=200 is invalid: expected at most WORK_MAX_MS (100)',
    ]);
  });

  it('requires HTTP_HEADERS_TIMEOUT_MS ≤ HTTP_REQUEST_TIMEOUT_MS (Node refuses a server otherwise)', () => {
    expect(problemsOf({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' })).to.deep.equal([
      'HTTP_HEADERS_TIMEOUT_MS=20000 is invalid: expected at most HTTP_REQUEST_TIMEOUT_MS (10000)',
    ]);
  });
});
