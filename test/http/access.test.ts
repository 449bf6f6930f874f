/**
 * Access tokens over HTTP. The route-table suite is built from the router's own stack, not from a list kept
 * here: a route added without an entry in ROUTE_SCOPES fails it.
 */
import Router from '@koa/router';
import { expect } from 'chai';
import Koa from 'koa';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { OPEN, ROUTE_SCOPES, authorize, routeKey, type Decision } from '../../src/http/access.js';
import { appRouter, createApp } from '../../src/http/app.js';
import { errorMiddleware } from '../../src/http/error-middleware.js';
import { openApiDocument, toOpenApiPath } from '../../src/http/openapi.js';
import { createJobQueue } from '../../src/engine/job-queue.js';
import { SCOPES, sha256Hex, type AccessToken, type Scope } from '../../src/tokens.js';
import { startService, testConfig, type Service } from './support.js';

/** A token per scope holding only that scope, and one per scope holding every other scope. */
const only = (scope: Scope) => `jst_only-${scope}-0123456789abcdef`;
const allBut = (scope: Scope) => `jst_all-but-${scope}-0123456789abcdef`;
const TOKENS: AccessToken[] = SCOPES.flatMap((scope) => [
  { name: `only-${scope}`, sha256: sha256Hex(only(scope)), scopes: [scope] },
  { name: `all-but-${scope}`, sha256: sha256Hex(allBut(scope)), scopes: SCOPES.filter((other) => other !== scope) },
]);
const access = { tokens: TOKENS, allowUnauthenticated: false };

/** Every `[method, pattern]` the router serves, HEAD included. */
function servedRoutes(router: Router): [string, string][] {
  const routes: [string, string][] = [];
  for (const layer of router.stack) for (const method of layer.methods) routes.push([method, String(layer.path)]);
  return routes;
}

function routerOfApp(): Router {
  const config = testConfig({ access });
  const queue = createJobQueue(
    { workers: 1, queueSize: 1, backoff: config.backoff, jobTimeoutMs: 0, jobRetention: 10 },
    { processor: async () => undefined },
  );
  return appRouter(createApp({ queue, config, logger: pino({ level: 'silent' }) }))!;
}

/** A concrete path for a route pattern. */
const concrete = (pattern: string) => pattern.replace(':id', 'job-1').replace(':name', 'page.js');

const unauthorizedBody = {
  error: { code: 'unauthorized', message: 'This route needs an access token: send it as `Authorization: Bearer <token>`.' },
};

function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: pino({ level: 'trace' }, stream) };
}

describe('access tokens', () => {
  let service: Service;
  let logLines: string[];
  beforeEach(async () => {
    const capture = capturingLogger();
    logLines = capture.lines;
    service = await startService({ config: { access }, logger: capture.logger });
  });
  afterEach(() => service.stop());

  /**
   * Status and body of one request. An event stream never ends, so its status is read from the head and the
   * request is then aborted.
   */
  async function call(method: string, path: string, token?: string) {
    const abort = new AbortController();
    const headers: Record<string, string> = { connection: 'close' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (method === 'POST') headers['content-type'] = 'application/json';
    const response = await fetch(service.url(path), {
      method,
      headers,
      body: method === 'POST' ? '{}' : undefined,
      signal: abort.signal,
    });
    if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
      abort.abort();
      return { status: response.status, headers: response.headers, body: undefined };
    }
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
  }

  describe('every route of the router, from its own table', () => {
    const routes = servedRoutes(routerOfApp());

    it('serves the routes the scope table decides, and the table names no route the router lacks', () => {
      expect(routes.length).to.be.greaterThan(20);
      const served = new Set(routes.map(([method, pattern]) => routeKey(method, pattern)));
      expect(Object.keys(ROUTE_SCOPES).filter((key) => !served.has(key))).to.deep.equal([]);
    });

    for (const [method, pattern] of routes) {
      const path = concrete(pattern);
      it(`${method} ${pattern}: no token, the wrong scope, the right scope`, async () => {
        const decision: Decision | undefined = ROUTE_SCOPES[routeKey(method, pattern)];
        expect(decision, `no scope decision for ${routeKey(method, pattern)} in ROUTE_SCOPES`).to.not.equal(undefined);

        const anonymous = await call(method, path);
        if (decision === OPEN) {
          expect(anonymous.status).to.not.be.oneOf([401, 403]);
          return;
        }
        const scope = decision as Scope;
        expect(anonymous.status).to.equal(401);
        expect(anonymous.headers.get('www-authenticate')).to.equal('Bearer');
        if (method !== 'HEAD') expect(anonymous.body).to.deep.equal(unauthorizedBody);

        const wrong = await call(method, path, allBut(scope));
        expect(wrong.status).to.equal(403);
        expect(wrong.headers.get('www-authenticate')).to.equal(`Bearer error="insufficient_scope", scope="${scope}"`);
        if (method !== 'HEAD') {
          expect(wrong.body).to.deep.equal({
            error: {
              code: 'forbidden',
              message: `${method} ${path} needs the scope "${scope}", which the token "all-but-${scope}" does not have.`,
              details: { required_scope: scope },
            },
          });
        }

        // HEAD /events sends no head at all yet (its handler writes the stream's head for GET only), so there is
        // nothing to read; a HEAD is decided by its GET's entry, which the GET /events case checks.
        if (method === 'HEAD' && pattern === '/events') return;
        const right = await call(method, path, only(scope));
        expect(right.status).to.not.be.oneOf([401, 403]);
      });
    }
  });

  it('answers an unknown token 401 with invalid_token, without echoing it', async () => {
    for (const authorization of ['Bearer jst_not-a-known-token', 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const reply = await service.request('GET', '/jobs', { headers: { authorization } });
      expect(reply.status).to.equal(401);
      expect(reply.headers.get('www-authenticate')).to.equal('Bearer error="invalid_token"');
      expect(reply.body).to.deep.equal({ error: { code: 'unauthorized', message: 'The access token is not valid.' } });
    }
  });

  it('accepts the scheme in any case', async () => {
    const reply = await service.request('GET', '/stats', { headers: { authorization: `bearer ${only('read')}` } });
    expect(reply.status).to.equal(200);
  });

  it('logs the name of the token on the request line, and never a token, a URL query or an Authorization header', async () => {
    await service.request('GET', '/jobs?limit=5', { headers: { authorization: `Bearer ${only('read')}` } });
    await service.request('POST', '/jobs/job-1/cancel', { headers: { authorization: `Bearer ${allBut('operate')}` } });
    await service.request('GET', '/jobs', { headers: { authorization: 'Bearer jst_not-a-known-token' } });
    await service.request('GET', '/metrics');
    const requests = logLines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'request');
    expect(requests.map(({ method, path, status, token }) => ({ method, path, status, token }))).to.deep.equal([
      { method: 'GET', path: '/jobs', status: 200, token: 'only-read' },
      { method: 'POST', path: '/jobs/job-1/cancel', status: 403, token: 'all-but-operate' },
      { method: 'GET', path: '/jobs', status: 401, token: undefined },
      { method: 'GET', path: '/metrics', status: 401, token: undefined },
    ]);
    const all = logLines.join('');
    for (const secret of [only('read'), allBut('operate'), 'jst_not-a-known-token', 'limit=5']) expect(all).to.not.include(secret);
    expect(all.toLowerCase()).to.not.include('authorization');
  });

  it('keeps the probes open and leaves 404 and 405 as they were', async () => {
    expect((await service.get('/healthz')).status).to.equal(200);
    expect((await service.get('/readyz')).status).to.equal(200);
    expect((await service.get('/nowhere')).status).to.equal(404);
    expect((await service.request('DELETE', '/stats')).status).to.equal(405);
  });
});

describe('access in the OpenAPI document', () => {
  type Operation = { security: Record<string, string[]>[]; responses: Record<string, unknown> };
  const document = openApiDocument(routerOfApp()) as unknown as {
    paths: Record<string, Record<string, Operation>>;
    security: unknown;
    components: { securitySchemes: Record<string, { type: string; scheme: string }> };
  };

  it('declares the bearer scheme, and for each operation the scope of ROUTE_SCOPES with its 401 and 403', () => {
    expect(document.security).to.deep.equal([{ bearer: [] }]);
    expect(document.components.securitySchemes.bearer).to.include({ type: 'http', scheme: 'bearer' });
    for (const [method, pattern] of servedRoutes(routerOfApp())) {
      if (method === 'HEAD') continue;
      const operation = document.paths[toOpenApiPath(pattern)]![method.toLowerCase()]!;
      const decision = ROUTE_SCOPES[routeKey(method, pattern)];
      const statuses = Object.keys(operation.responses);
      if (decision === OPEN) {
        expect(operation.security, pattern).to.deep.equal([]);
        expect(statuses, pattern).to.not.include.members(['401']);
        expect(statuses, pattern).to.not.include.members(['403']);
      } else {
        expect(operation.security, pattern).to.deep.equal([{ bearer: [decision] }]);
        expect(statuses, pattern).to.include.members(['401', '403']);
      }
    }
  });
});

describe('access without tokens', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService();
  });
  afterEach(() => service.stop());

  it('checks nothing: every route answers without a token, as before tokens existed', async () => {
    expect((await service.get('/jobs')).status).to.equal(200);
    expect((await service.get('/metrics')).status).to.equal(200);
    expect((await service.post('/jobs', { id: 'a' })).status).to.equal(202);
    expect((await service.request('POST', '/jobs/a/cancel')).status).to.equal(200);
  });
});

describe('a route without a scope decision', () => {
  it('is refused to every token, 403 forbidden, rather than left open', async () => {
    const router = new Router();
    router.use(authorize(router, access, { 'GET /decided': 'read' }));
    router.get('/decided', (ctx) => void (ctx.body = 'ok'));
    router.get('/forgotten', (ctx) => void (ctx.body = 'ok'));
    const app = new Koa();
    app.use(errorMiddleware(pino({ level: 'silent' })));
    app.use(router.routes());
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const headers = { authorization: `Bearer ${allBut('submit')}`, connection: 'close' };
      expect((await fetch(`${base}/decided`, { headers })).status).to.equal(200);
      const refused = await fetch(`${base}/forgotten`, { headers });
      expect(refused.status).to.equal(403);
      expect(await refused.json()).to.deep.equal({
        error: {
          code: 'forbidden',
          message: 'GET /forgotten has no scope decision, so no token may call it.',
          details: { required_scope: null },
        },
      });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
