import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import sinon from 'sinon';
import { jobChart, supervisorChart } from '../../src/chart/charts.js';
import { toMermaid } from '../../src/chart/mermaid.js';
import { DEBUG_ASSETS, MERMAID_BUNDLE } from '../../src/debug/assets.js';
import { compressedOnce } from '../../src/debug/compressed-once.js';
import { JOB_STATES } from '../../src/engine/job-record.js';
import type { JobQueue } from '../../src/engine/job-queue.types.js';
import { transitionView } from '../../src/http/routes/events.js';
import { iso, openEventStream, startService, T0, type Service } from '../http/support.js';

/** An open `GET /events` response of `service`. */
const openStream = (service: Service, path: string) => openEventStream(service.url(path));

const message = async (service: Service, id: string, index: number) =>
  `event: transition\ndata: ${JSON.stringify(transitionView((await service.queue.get(id))!.history[index]!))}\n\n`;

/**
 * Counts the live queue subscriptions (a stream holds two: `transition` and `progress`), and resolves `released`
 * when one is dropped.
 */
function countingQueue() {
  const counter = { active: 0, released: [] as (() => void)[] };
  const wrap = (queue: JobQueue): JobQueue => ({
    ...queue,
    on(event, listener) {
      counter.active++;
      const off = queue.on(event, listener);
      return () => {
        counter.active--;
        off();
        counter.released.splice(0).forEach((resolve) => resolve());
      };
    },
  });
  const released = () => new Promise<void>((resolve) => counter.released.push(resolve));
  return { counter, wrap, released };
}

describe('debug routes', () => {
  let service: Service;
  afterEach(async () => {
    sinon.restore();
    await service?.stop();
  });

  describe('GET /jobs/:id/history', () => {
    it('returns every transition of a job that retried and failed, oldest first', async () => {
      service = await startService({ config: { backoff: { baseMs: 0, maxMs: 0, jitterMs: 0 } } });
      await service.post('/jobs', { id: 'a', max_retries: 1 });
      await service.reach('a', 'running');
      service.clock.advance(5);
      service.work.fail('a', 'boom');
      await service.reach('a', 'backoff');
      await service.reach('a', 'running');
      service.clock.advance(7);
      service.work.fail('a', 'boom again');
      await service.reach('a', 'failed');

      const reply = await service.get('/jobs/a/history');
      const events = (await service.queue.get('a'))!.history.map((t) => t.event);
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.equal({
        id: 'a',
        transitions: [
          { type: 'simulated', from: null, to: 'queued', event: 'SUBMIT', at: iso(T0), attempt: 0, error: null,
            delay_ms: null, delay_source: null },
          { type: 'simulated', from: 'queued', to: 'running', event: events[1], at: iso(T0), attempt: 1, error: null,
            delay_ms: null, delay_source: null },
          { type: 'simulated', from: 'running', to: 'backoff', event: events[2], at: iso(T0 + 5), attempt: 1, error: 'boom',
            delay_ms: 0, delay_source: 'backoff' },
          { type: 'simulated', from: 'backoff', to: 'running', event: events[3], at: iso(T0 + 5), attempt: 2, error: null,
            delay_ms: null, delay_source: null },
          { type: 'simulated', from: 'running', to: 'failed', event: events[4], at: iso(T0 + 12), attempt: 2,
            error: 'boom again', delay_ms: null, delay_source: null },
        ],
      });
    });

    it('answers 404 not_found for an unknown id', async () => {
      service = await startService();
      const reply = await service.get('/jobs/nope/history');
      expect(reply.status).to.equal(404);
      expect(reply.body).to.deep.equal({ error: { code: 'not_found', message: 'No job with id "nope".' } });
    });
  });

  describe('GET /debug/jobs/:id/path', () => {
    it('counts the edges of a job whose history was cut at 50 transitions from its whole path, and says how much is shown', async () => {
      service = await startService({ config: { maxRetriesLimit: 40, backoff: { baseMs: 0, maxMs: 0, jitterMs: 0 } } });
      await service.post('/jobs', { id: 'a', max_retries: 40 });
      // 30 failed attempts and a 31st running: 1 + 1 + 2 × 30 = 62 transitions, of which the record keeps 50.
      for (let attempt = 1; attempt <= 30; attempt++) {
        await service.reach('a', 'running');
        service.work.fail('a', `boom ${attempt}`);
        await service.reach('a', 'backoff');
      }
      await service.reach('a', 'running');
      expect((await service.queue.get('a'))!.history).to.have.length(50);

      const reply = await service.get('/debug/jobs/a/path');
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.include({
        current: 'running',
        edges: [
          { from: 'queued', to: 'running', label: 'SLOT_GRANTED', count: 1 },
          { from: 'running_attempting', to: 'backoff', label: 'ATTEMPT_FAILED [hasRetriesLeft]', count: 30 },
          { from: 'backoff_waiting', to: 'backoff_ready', label: 'after retryDelay', count: 30 },
          { from: 'backoff_ready', to: 'running', label: 'SLOT_GRANTED', count: 30 },
        ],
        history: { shown: 50, total: 62, counted_from: 'attempts' },
      });
    });
  });

  describe('GET /debug/assets/:name', () => {
    /** A GET with its own headers, read raw: fetch would decompress the body and hide the encoding. */
    const rawGet = (path: string, headers: Record<string, string>) =>
      new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const request = httpGet(service.url(path), { headers: { connection: 'close', ...headers } }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
          response.on('error', reject);
        });
        request.on('error', reject);
      });

    it("sends Mermaid's bundle compressed, with an ETag, and answers 304 without a body while it is unchanged", async () => {
      service = await startService();
      const file = readFileSync(MERMAID_BUNDLE);
      const first = await rawGet('/debug/assets/mermaid.min.js', { 'accept-encoding': 'gzip' });
      expect(first.status).to.equal(200);
      expect(first.headers['content-encoding']).to.equal('gzip');
      expect(first.headers['vary']).to.equal('Accept-Encoding');
      expect(first.headers['cache-control']).to.equal('no-cache');
      expect(first.headers['etag']).to.match(/^W\/"[0-9a-f]+-[0-9a-f]+"$/);
      expect(first.body.length).to.be.lessThan(file.length / 2);
      expect(gunzipSync(first.body).equals(file)).to.equal(true);

      const again = await rawGet('/debug/assets/mermaid.min.js', { 'accept-encoding': 'gzip', 'if-none-match': first.headers['etag']! });
      expect(again.status).to.equal(304);
      expect(again.body.length).to.equal(0);
    });

    it("compresses Mermaid's bundle once per encoding and keeps it, rather than at every response", async () => {
      service = await startService();
      expect(compressedOnce(MERMAID_BUNDLE, 'br')).to.equal(compressedOnce(MERMAID_BUNDLE, 'br'));
      const sent = await rawGet('/debug/assets/mermaid.min.js', { 'accept-encoding': 'br' });
      expect([sent.status, sent.headers['content-encoding'], sent.headers['vary']]).to.deep.equal([200, 'br', 'Accept-Encoding']);
      expect(sent.body.equals(await compressedOnce(MERMAID_BUNDLE, 'br'))).to.equal(true);
      expect(brotliDecompressSync(sent.body).equals(readFileSync(MERMAID_BUNDLE))).to.equal(true);
    });

    it('sends brotli to a browser that accepts it, and the page itself with an ETag', async () => {
      service = await startService();
      const script = await rawGet('/debug/assets/page.js', { 'accept-encoding': 'br' });
      expect(script.headers['content-encoding']).to.equal('br');
      expect(brotliDecompressSync(script.body).equals(readFileSync(DEBUG_ASSETS['page.js']!.path))).to.equal(true);
      const page = await rawGet('/debug', {});
      expect(page.status).to.equal(200);
      const unchanged = await rawGet('/debug', { 'if-none-match': page.headers['etag']! });
      expect(unchanged.status).to.equal(304);
    });

    it('serves the favicon the page links to', async () => {
      service = await startService();
      const page = await service.get('/debug');
      expect(page.text).to.include('<link rel="icon" href="/debug/assets/favicon.svg" type="image/svg+xml">');
      const icon = await service.get('/debug/assets/favicon.svg');
      expect(icon.status).to.equal(200);
      expect(icon.headers.get('content-type')).to.equal('image/svg+xml');
      expect(icon.text).to.equal(readFileSync(DEBUG_ASSETS['favicon.svg']!.path, 'utf8'));
    });
  });

  describe('GET /machines/*', () => {
    it('returns each machine definition as JSON, with every state description', async () => {
      service = await startService();
      for (const [name, machine] of [['job', jobChart], ['supervisor', supervisorChart]] as const) {
        const reply = await service.get(`/machines/${name}`);
        expect(reply.status).to.equal(200);
        expect(reply.headers.get('content-type')).to.equal('application/json; charset=utf-8');
        expect(reply.body).to.deep.equal(JSON.parse(JSON.stringify(machine.toJSON())));
        const states = (reply.body as { states: Record<string, { description?: string }> }).states;
        for (const [key, node] of Object.entries(machine.root.states)) {
          expect(states[key]!.description, key).to.equal(node.description).and.to.be.a('string');
        }
      }
    });

    it('GET /machines/job.mmd returns exactly the generated Mermaid text', async () => {
      service = await startService();
      const reply = await service.get('/machines/job.mmd');
      expect(reply.status).to.equal(200);
      expect(reply.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
      expect(reply.text).to.equal(toMermaid(jobChart));
    });
  });

  describe('GET /events', () => {
    it('streams one job with ?job=, from its submission to done, and nothing of the others', async () => {
      service = await startService();
      const stream = await openStream(service, '/events?job=b');
      expect(stream.response.status).to.equal(200);
      expect(stream.response.headers.get('content-type')).to.equal('text/event-stream; charset=utf-8');
      await service.post('/jobs', { id: 'a' });
      await service.post('/jobs', { id: 'b' });
      service.work.succeed('a');
      await service.reach('b', 'running');
      service.work.succeed('b');
      await service.reach('b', 'done');

      await stream.until((text) => text.includes('"to":"done"'));
      expect(stream.text()).to.equal(
        ': connected\n\n' +
          'event: transition\ndata: {"id":"b","type":"simulated","from":null,"to":"queued","event":"SUBMIT","at":"2026-01-02T03:04:05.006Z","attempt":0,"error":null,"delay_ms":null,"delay_source":null}\n\n' +
          (await message(service, 'b', 1)) +
          (await message(service, 'b', 2)),
      );
      stream.close();
    });

    it('streams the transitions entering one state with ?state=', async () => {
      service = await startService();
      const stream = await openStream(service, '/events?state=running');
      await service.post('/jobs', { id: 'a' });
      await service.post('/jobs', { id: 'b' });
      service.work.succeed('a');
      await service.reach('b', 'running');
      await stream.until((text) => text.includes('"id":"b"'));
      expect(stream.text()).to.equal(': connected\n\n' + (await message(service, 'a', 1)) + (await message(service, 'b', 1)));
      stream.close();
    });

    it('refuses an unknown state with 400 validation_failed, as GET /jobs does', async () => {
      service = await startService();
      const reply = await service.get('/events?state=paused');
      expect(reply.status).to.equal(400);
      expect(reply.body).to.deep.equal({
        error: {
          code: 'validation_failed',
          message: 'The request does not match the expected shape; see details.',
          details: { state: [`Must be one of ${JOB_STATES.join(', ')}.`] },
        },
      });
    });

    it('sends a heartbeat comment every 15 s', async () => {
      const clock = sinon.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
      service = await startService();
      const stream = await openStream(service, '/events');
      await stream.until((text) => text === ': connected\n\n');
      clock.tick(14_999);
      clock.tick(1);
      await stream.until((text) => text.length > ': connected\n\n'.length);
      expect(stream.text()).to.equal(': connected\n\n: heartbeat\n\n');
      clock.tick(15_000);
      await stream.until((text) => text.length > ': connected\n\n: heartbeat\n\n'.length);
      expect(stream.text()).to.equal(': connected\n\n: heartbeat\n\n: heartbeat\n\n');
      stream.close();
    });

    it('unsubscribes from the queue when the client goes away', async () => {
      const { counter, wrap, released } = countingQueue();
      service = await startService({ wrapQueue: wrap });
      const before = counter.active;
      const stream = await openStream(service, '/events');
      await stream.until((text) => text.length > 0);
      expect(counter.active).to.equal(before + 2);
      const gone = released();
      stream.close();
      await gone;
      expect(counter.active).to.equal(before);
    });

    it('disconnects a client that does not read, once its buffer passes the limit, and unsubscribes', async () => {
      const { counter, wrap, released } = countingQueue();
      const listeners: ((t: never) => void)[] = [];
      service = await startService({
        wrapQueue: (queue) => {
          const counted = wrap(queue);
          return {
            ...counted,
            on: (event, listener) => {
              if (event === 'transition') listeners.push(listener as never);
              return counted.on(event, listener);
            },
          };
        },
      });
      const before = counter.active;
      const stream = await openStream(service, '/events');
      await stream.until((text) => text.length > 0);
      // The client reads nothing from here on; the server keeps sending 100 KB transitions.
      const gone = released();
      const big = {
        id: 'x', type: 'simulated', from: 'queued', to: 'running', event: 'E', at: T0, attempt: 1, error: 'e'.repeat(100_000),
        delay_ms: null, delay_source: null,
      };
      const listener = listeners.at(-1)!;
      for (let i = 0; i < 400 && counter.active > before; i++) listener(big as never);
      await gone;
      expect(counter.active).to.equal(before);
      // The client sees its stream cut, not ended cleanly after 40 MB.
      const ended = await stream.until(() => false);
      expect(ended).to.equal(false);
      expect(stream.text().length).to.be.lessThan(40_000_000);
    });
  });
});
