import { Writable } from 'node:stream';
import { expect } from 'chai';
import pino from 'pino';
import { startService, type Service } from './support.js';

/** A pino logger whose lines land, parsed, in `lines`. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

describe('unexpected errors', () => {
  let service: Service;
  let lines: Record<string, unknown>[];
  beforeEach(async () => {
    const capture = capturingLogger();
    lines = capture.lines;
    service = await startService({
      logger: capture.logger,
      wrapQueue: (queue) => ({
        ...queue,
        submit: () => Promise.reject(new Error('disk on fire')),
        stats: () => {
          throw new TypeError('cannot read the counters');
        },
      }),
    });
  });
  afterEach(() => service.stop());

  const internal = { error: { code: 'internal', message: 'An unexpected error occurred; it has been logged.' } };

  it('answers 500 internal with a generic message and no stack trace', async () => {
    const reply = await service.post('/jobs', { id: 'x' });
    expect(reply.status).to.equal(500);
    expect(reply.body).to.deep.equal(internal);
    expect(reply.headers.get('location')).to.equal(null);
    expect(reply.text).not.to.include('disk on fire');
    expect(reply.text).not.to.include(' at ');
  });

  it('logs the detail at error level', async () => {
    const reply = await service.get('/stats');
    expect(reply.body).to.deep.equal(internal);
    const logged = lines.find((line) => line.level === 50);
    expect(logged).to.include({ method: 'GET', path: '/stats', msg: 'unexpected error while handling a request' });
    expect(logged).to.have.nested.property('err.message', 'cannot read the counters');
    expect(logged).to.have.nested.property('err.type', 'TypeError');
  });
});

describe('request log', () => {
  let service: Service;
  let lines: Record<string, unknown>[];
  beforeEach(async () => {
    const capture = capturingLogger();
    lines = capture.lines;
    service = await startService({ logger: capture.logger });
  });
  afterEach(() => service.stop());

  it('writes one info line per request: method, path, status, duration_ms', async () => {
    await service.get('/healthz');
    await service.get('/jobs/missing?x=1');
    await service.post('/jobs', '{');
    await service.request('DELETE', '/stats');
    const requests = lines.filter((line) => line.msg === 'request');
    expect(requests).to.have.length(4);
    expect(lines).to.have.length(4);
    expect(requests.map(({ level, method, path, status }) => ({ level, method, path, status }))).to.deep.equal([
      { level: 30, method: 'GET', path: '/healthz', status: 200 },
      { level: 30, method: 'GET', path: '/jobs/missing', status: 404 },
      { level: 30, method: 'POST', path: '/jobs', status: 400 },
      { level: 30, method: 'DELETE', path: '/stats', status: 405 },
    ]);
    for (const line of requests) expect(line.duration_ms).to.be.a('number').and.at.least(0);
  });
});
