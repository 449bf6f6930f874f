import type Router from '@koa/router';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { z } from 'zod';
import { appRouter, createApp } from '../../src/http/app.js';
import { API_VERSION, dropDateTimePattern, openApiDocument, toOpenApiPath } from '../../src/http/openapi.js';
import {
  debugStatusSchema,
  errorBodySchema,
  historySchema,
  jobPageSchema,
  jobPathSchema,
  jobViewSchema,
  queuedReplySchema,
  readinessSchema,
  statsSchema,
} from '../../src/http/response-schemas.js';
import { listQuerySchema, submissionSchema } from '../../src/http/schemas.js';
import { createJobQueue } from '../../src/engine/job-queue.js';
import type { Stats } from '../../src/engine/job-queue.types.js';
import { startService, testConfig, type Service } from './support.js';

type Document = {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
  components: { schemas: Record<string, unknown> };
};

/** `METHOD /path/{param}` for every route the router serves (HEAD comes with every GET and is not listed). */
function servedRoutes(router: Router): string[] {
  const routes = new Set<string>();
  for (const layer of router.stack) {
    for (const method of layer.methods) {
      if (method !== 'HEAD') routes.add(`${method} ${toOpenApiPath(String(layer.path))}`);
    }
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

describe('GET /openapi.json', () => {
  const config = testConfig();
  const document = openApiDocument(config) as unknown as Document;

  it('documents every route the router serves, and nothing the router does not serve', () => {
    const queue = createJobQueue(
      { workers: 1, queueSize: 1, backoff: config.backoff, jobTimeoutMs: 0, jobRetention: 10 },
      { processor: async () => undefined },
    );
    const router = appRouter(createApp({ queue, config, logger: pino({ level: 'silent' }) }))!;
    const served = servedRoutes(router);
    expect(served).to.include.members(['POST /jobs/{id}/cancel', 'POST /jobs/{id}/retry', 'GET /metrics']);
    expect(documentedRoutes(document)).to.deep.equal(served);
  });

  it('serves an OpenAPI 3.1 document with the package version', async () => {
    const service = await startService();
    try {
      const reply = await service.get('/openapi.json');
      expect(reply.status).to.equal(200);
      expect(reply.headers.get('content-type')).to.equal('application/json; charset=utf-8');
      expect(reply.body).to.deep.equal(document);
      const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
      expect([document.openapi, document.info.version, API_VERSION]).to.deep.equal(['3.1.0', packageJson.version, packageJson.version]);
    } finally {
      await service.stop();
    }
  });

  it('resolves every $ref to a component schema', () => {
    const names = new Set(Object.keys(document.components.schemas).map((name) => `#/components/schemas/${name}`));
    const found = refs(document);
    expect(found).to.not.be.empty;
    expect(found.filter((ref) => !names.has(ref))).to.deep.equal([]);
  });

  it('describes requests with the schemas the routes validate with', () => {
    const { $schema: _dialect, ...submission } = z.toJSONSchema(submissionSchema(config.maxRetriesLimit), {
      io: 'input',
      override: dropDateTimePattern,
    });
    expect(document.components.schemas.Submission).to.deep.equal(submission);
    const listParameters = document.paths['/jobs']!.get!.parameters!.map(({ name, in: where }) => `${where}:${name}`);
    expect(listParameters).to.deep.equal(Object.keys(listQuerySchema.shape).map((name) => `query:${name}`));
    expect(document.paths['/jobs/{id}/cancel']!.post!.parameters!.map(({ name, in: where }) => `${where}:${name}`))
      .to.deep.equal(['path:id']);
    expect(statsSchemaIsStats).to.equal(true);
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
        await service.post('/jobs', { max_retries: 'x' }),
      ]) {
        expect(reply.status).to.be.at.least(400);
        conforms(errorBodySchema, reply.body);
      }
    });
  });
});
