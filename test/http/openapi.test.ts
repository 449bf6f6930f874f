import type Router from '@koa/router';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { z } from 'zod';
import { appRouter, createApp } from '../../src/http/app.js';
import { errorBodySchema } from '../../src/http/error-schemas.js';
import { API_VERSION, openApiDocument, toOpenApiPath } from '../../src/http/openapi.js';
import {
  debugStatusSchema,
  historySchema,
  jobPageSchema,
  jobPathSchema,
  jobViewSchema,
  queuedReplySchema,
  readinessSchema,
  statsSchema,
} from '../../src/http/response-schemas.js';
import { documentRoute, routeDocs } from '../../src/http/route-docs.js';
import { createJobQueue } from '../../src/engine/job-queue.js';
import { LIFECYCLES, type Lifecycle, type Stats } from '../../src/engine/job-queue.types.js';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import { startService, testConfig, type Service } from './support.js';

type Schema = Record<string, unknown>;
type Operation = {
  parameters?: { name: string; in: string; required?: boolean; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { $ref?: string; headers?: Record<string, { required?: boolean }>; content?: Record<string, { schema: Schema }> }>;
};
type Document = {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; responses: Record<string, Operation['responses'][string]> };
};

/** `METHOD /path/{param}` for every route the router serves, HEAD included (the router adds it to each GET). */
function servedRoutes(router: Router): string[] {
  const routes = new Set<string>();
  for (const layer of router.stack) {
    for (const method of layer.methods) routes.add(`${method} ${toOpenApiPath(String(layer.path))}`);
  }
  return [...routes].sort();
}

function documentedRoutes(document: Document): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

/** Every `$ref` in `value`. */
function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => (key === '$ref' ? [inner as string] : refs(inner)));
}

/** Exactly equal types, checked by the compiler. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const statsSchemaIsStats: Same<z.output<typeof statsSchema>, Stats> = true;
const statusListsEveryLifecycle: Same<z.output<typeof debugStatusSchema>['lifecycle'], Lifecycle> = true;

function appWithRouter(): Router {
  const config = testConfig();
  const queue = createJobQueue(
    { workers: 1, queueSize: 1, backoff: config.backoff, jobTimeoutMs: 0, jobRetention: 10 },
    { processor: async () => undefined },
  );
  return appRouter(createApp({ queue, config, logger: pino({ level: 'silent' }) }))!;
}

describe('GET /openapi.json', () => {
  const router = appWithRouter();
  const document = openApiDocument(router) as unknown as Document;
  /** The response `status` of `method path`, its `$ref` to a shared response followed. */
  const response = (path: string, method: string, status: string) => {
    const reply = document.paths[path]![method]!.responses[status]!;
    return reply.$ref ? document.components.responses[reply.$ref.split('/').pop()!]! : reply;
  };

  it('documents every route the router serves, HEAD included, and nothing the router does not serve', () => {
    const served = servedRoutes(router);
    expect(served).to.include.members(['POST /jobs/{id}/cancel', 'HEAD /jobs/{id}', 'GET /metrics']);
    expect(documentedRoutes(document)).to.deep.equal(served);
  });

  it('fails a route added without documentRoute, and a documented route that is not served', () => {
    const extra = appWithRouter();
    extra.get('/undocumented', (ctx) => void (ctx.body = 'x'));
    documentRoute(extra, 'GET /unserved', { tag: 'debug', summary: 'Nothing.', responses: {} });
    const documented = documentedRoutes(openApiDocument(extra) as unknown as Document);
    const served = servedRoutes(extra);
    expect(served.filter((route) => !documented.includes(route))).to.deep.equal(['GET /undocumented', 'HEAD /undocumented']);
    expect(documented.filter((route) => !served.includes(route))).to.deep.equal(['GET /unserved', 'HEAD /unserved']);
    expect(routeDocs(router).size).to.be.greaterThan(20);
  });

  it('serves an OpenAPI 3.1 document with the package version', async () => {
    const service = await startService();
    try {
      const reply = await service.get('/openapi.json');
      expect(reply.status).to.equal(200);
      expect(reply.headers.get('content-type')).to.equal('application/json; charset=utf-8');
      expect(reply.body).to.deep.equal(JSON.parse(JSON.stringify(document)));
      const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
      expect([document.openapi, document.info.version, API_VERSION]).to.deep.equal(['3.1.0', packageJson.version, packageJson.version]);
    } finally {
      await service.stop();
    }
  });

  it('resolves every $ref to a component', () => {
    const names = new Set([
      ...Object.keys(document.components.schemas).map((name) => `#/components/schemas/${name}`),
      ...Object.keys(document.components.responses).map((name) => `#/components/responses/${name}`),
    ]);
    const found = refs(document);
    expect(found).to.not.be.empty;
    expect(found.filter((ref) => !names.has(ref))).to.deep.equal([]);
  });

  it('describes requests by their input side: defaults optional, limit an integer with bounds, batch items any JSON', () => {
    const submission = document.components.schemas.Submission!;
    expect(submission.required).to.equal(undefined);
    expect(Object.keys(submission.properties as object)).to.deep.equal([
      'id', 'type', 'payload', 'max_retries', 'priority', 'run_at', 'delay_ms',
    ]);
    const limit = document.paths['/jobs']!.get!.parameters!.find((parameter) => parameter.name === 'limit')!;
    expect(limit).to.deep.equal({ in: 'query', name: 'limit', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } });
    const batch = document.paths['/jobs/batch']!.post!.requestBody!.content['application/json']!.schema as {
      properties: { jobs: { items: Schema } };
    };
    expect(Object.keys(batch.properties.jobs.items)).to.deep.equal(['description']);
  });

  it('documents 405 with Allow, 500 as default, Location on 202, Retry-After on 429 and 503', () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(Object.keys(operation.responses), `${method} ${path}`).to.include.members(['405', 'default']);
        expect(Object.keys(operation.responses).some((status) => status.startsWith('4')), `${method} ${path}`).to.equal(true);
      }
    }
    expect(response('/jobs', 'post', '405').headers!.Allow!.required).to.equal(true);
    expect(response('/jobs', 'post', '202').headers!.Location!.required).to.equal(true);
    expect(response('/jobs', 'post', '429').headers!['Retry-After']!.required).to.equal(true);
    expect(response('/jobs/{id}', 'get', '503').headers!['Retry-After']!.required).to.equal(true);
    expect(Object.keys(response('/debug/assets/{name}', 'get', '200').content!)).to.have.members([
      'text/javascript; charset=utf-8',
      'text/css; charset=utf-8',
      'image/svg+xml',
    ]);
    expect(Object.keys(response('/machines/job.mmd', 'get', '200').content!)).to.deep.equal(['text/plain; charset=utf-8']);
  });

  it('types the details of each error code: the existing job for duplicate_job, messages per field for validation_failed', () => {
    const { schemas } = document.components;
    expect((schemas.DuplicateJobError!.properties as Record<string, Schema>).details).to.deep.equal({
      $ref: '#/components/schemas/Job',
      description: 'The job already known under this id.',
    });
    expect((schemas.ValidationFailedError!.properties as Record<string, Schema>).details).to.include({ type: 'object' });
    expect(schemas.DebugStatus!.properties).to.have.nested.property('lifecycle.enum').that.includes('pausing');
    expect(statsSchemaIsStats && statusListsEveryLifecycle).to.equal(true);
  });

  it('shows the lifecycle and dispatch of /debug/status and /admin/pause alike: the supervisor\'s states, and running or paused', () => {
    const { schemas } = document.components;
    const fields = (name: string) => {
      const { lifecycle, dispatch } = schemas[name]!.properties as Record<string, Schema>;
      return { lifecycle, dispatch };
    };
    expect(fields('DebugStatus')).to.deep.equal(fields('DispatchState'));
    expect([fields('DebugStatus').lifecycle!.enum, fields('DebugStatus').dispatch!.enum]).to.deep.equal([
      ['accepting', 'pausing', 'draining', 'stopped'],
      ['running', 'paused'],
    ]);
    expect([...LIFECYCLES].sort()).to.deep.equal(Object.keys(supervisorMachine.config.states!).sort());
  });

  describe('real responses match the documented schemas', () => {
    let service: Service;
    beforeEach(async () => {
      service = await startService({ config: { workers: 1, queueSize: 1 } });
    });
    afterEach(() => service.stop());

    /** Parses `body` with the strict `schema`, so that an undocumented field fails too. */
    function conforms(schema: z.ZodType, body: unknown) {
      const result = schema.safeParse(body);
      expect(result.success, result.error ? z.prettifyError(result.error) : '').to.equal(true);
    }

    it('for jobs, pages, history, stats, readiness, the debug status and path, and errors', async () => {
      conforms(queuedReplySchema, (await service.post('/jobs', { id: 'a', payload: { n: 1 } })).body);
      await service.post('/jobs', { id: 'b' });
      service.work.fail('a', 'boom');
      await service.reach('a', 'backoff');
      for (const id of ['a', 'b']) conforms(jobViewSchema, (await service.get(`/jobs/${id}`)).body);
      conforms(jobViewSchema, (await service.request('POST', '/jobs/a/cancel')).body);
      conforms(jobViewSchema, (await service.request('POST', '/jobs/a/retry')).body);
      conforms(jobPageSchema, (await service.get('/jobs')).body);
      conforms(historySchema, (await service.get('/jobs/a/history')).body);
      conforms(statsSchema, (await service.get('/stats')).body);
      conforms(readinessSchema, (await service.get('/readyz')).body);
      conforms(debugStatusSchema, (await service.get('/debug/status')).body);
      conforms(jobPathSchema, (await service.get('/debug/jobs/a/path')).body);
      for (const reply of [
        await service.get('/jobs/nope'),
        await service.request('POST', '/jobs/b/retry'),
        await service.post('/jobs', { id: 'c' }),
        await service.post('/jobs', { id: 'b', payload: 2 }),
        await service.post('/jobs', { max_retries: 'x' }),
      ]) {
        expect(reply.status).to.be.at.least(400);
        conforms(errorBodySchema, reply.body);
      }
    });
  });
});
