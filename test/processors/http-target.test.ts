/**
 * The HTTP target processor against a real Koa receiver on loopback: real sockets, so no fake timers; every
 * wait is for real I/O.
 */
import { expect } from 'chai';
import Koa from 'koa';
import diagnostics from 'node:diagnostics_channel';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { PermanentError, RetryLaterError } from '../../src/errors.js';
import { createHttpTarget, type HttpTarget, type HttpTargetOptions } from '../../src/processors/http-target.js';
import type { ProcessorJob } from '../../src/processors/processor.js';

const SECRET = 'whsec_' + Buffer.from('a test key of thirty-two bytes!!').toString('base64');
const CAP_MS = 60_000;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers a request; may also hang until `ctx.req` closes. */
type Handler = (ctx: Koa.Context, request: Received) => void | Promise<void>;

describe('HTTP target processor', () => {
  let server: Server;
  let base: string;
  let handler: Handler;
  let received: Received[];
  let connections: number;
  const sockets = new Set<Socket>();
  let target: HttpTarget;
  /** Every target a test made, closed after it. */
  let made: HttpTarget[] = [];

  before(async () => {
    const app = new Koa();
    app.use(async (ctx) => {
      // The raw body, byte for byte: the signature covers exactly what was sent.
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req as AsyncIterable<Buffer>) chunks.push(chunk);
      const request = { path: ctx.path, headers: ctx.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      await handler(ctx, request);
    });
    server = createServer(app.callback());
    server.on('connection', (socket: Socket) => {
      connections++;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  });

  beforeEach(() => {
    received = [];
    connections = 0;
    handler = (ctx) => {
      ctx.body = { ok: true };
    };
    target = make();
  });

  afterEach(async () => {
    await Promise.all(made.map((t) => t.close()));
    made = [];
  });

  function make(overrides: Partial<HttpTargetOptions> = {}): HttpTarget {
    const created = createHttpTarget({
      type: 'notify',
      url: `${base}/hook`,
      headers: { authorization: 'Bearer t0ken' },
      secret: SECRET,
      retryAfterMaxMs: CAP_MS,
      ...overrides,
    });
    made.push(created);
    return created;
  }

  function job(overrides: Partial<ProcessorJob> = {}): ProcessorJob {
    return { id: 'job-1', type: 'notify', payload: { to: 'ada' }, attempt: 1, max_retries: 3, ...overrides };
  }

  const context = (signal: AbortSignal = new AbortController().signal) => ({ signal, progress: () => {} });
  const run = (j: ProcessorJob = job(), t: HttpTarget = target) => t.processor(j, context());

  /** The rejection of `promise`; fails the test if it resolves. */
  async function rejection(promise: Promise<unknown>): Promise<unknown> {
    try {
      const value = await promise;
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    } catch (error) {
      return error;
    }
  }

  describe('the request', () => {
    it('POSTs the job as JSON in a fixed key order, with the configured headers, to the configured URL', async () => {
      await run(job({ payload: { b: 1, a: [2] }, attempt: 2 }));
      expect(received).to.have.length(1);
      const [request] = received;
      expect(request!.path).to.equal('/hook');
      expect(request!.body).to.equal(
        '{"id":"job-1","type":"notify","payload":{"b":1,"a":[2]},"attempt":2,"max_retries":3}',
      );
      expect(request!.headers['content-type']).to.equal('application/json');
      expect(request!.headers.authorization).to.equal('Bearer t0ken');
    });

    it('ignores a url in the payload: the request still goes to the configured URL', async () => {
      await run(job({ payload: { url: `${base}/steal` } }));
      expect(received.map((r) => r.path)).to.deep.equal(['/hook']);
    });

    it('signs per Standard Webhooks (verified by the standardwebhooks package) with the job id on every attempt', async () => {
      await run(job({ attempt: 1 }));
      await run(job({ attempt: 2 }));
      const webhook = new Webhook(SECRET);
      const verified = received.map((r) => webhook.verify(r.body, r.headers as Record<string, string>));
      expect(verified).to.deep.equal([
        { id: 'job-1', type: 'notify', payload: { to: 'ada' }, attempt: 1, max_retries: 3 },
        { id: 'job-1', type: 'notify', payload: { to: 'ada' }, attempt: 2, max_retries: 3 },
      ]);
      expect(received.map((r) => r.headers['webhook-id'])).to.deep.equal(['job-1', 'job-1']);
    });

    it('percent-encodes a webhook-id that a header cannot carry, and signs that form; ASCII ids stay as they are', async () => {
      await run(job({ id: '日本-1' }));
      await run(job({ id: 'a%b' }));
      await run(job({ id: 'plain id-2' }));
      expect(received.map((r) => r.headers['webhook-id'])).to.deep.equal(['%E6%97%A5%E6%9C%AC-1', 'a%25b', 'plain id-2']);
      const webhook = new Webhook(SECRET);
      expect(received.map((r) => (webhook.verify(r.body, r.headers as Record<string, string>) as { id: string }).id)).to.deep.equal([
        '日本-1', 'a%b', 'plain id-2',
      ]);
    });

    it('signs the timestamp of the injected clock, in seconds', async () => {
      await run(job(), (make({ now: () => 1_700_000_000_999 })));
      expect(received[0]!.headers['webhook-timestamp']).to.equal('1700000000');
    });

    it('does not let configured headers override the content type or the signature headers', async () => {
      const headers = { 'Content-Type': 'text/plain', 'Webhook-Id': 'forged', 'webhook-signature': 'v1,forged' };
      await run(job(), (make({ headers })));
      const [request] = received;
      expect(request!.headers['content-type']).to.equal('application/json');
      expect(request!.headers['webhook-id']).to.equal('job-1');
      expect(() => new Webhook(SECRET).verify(request!.body, request!.headers as Record<string, string>)).not.to.throw();
    });

    it('reuses one keep-alive socket for sequential attempts, also after a retryable error response', async () => {
      let calls = 0;
      handler = (ctx) => {
        if (++calls === 2) {
          ctx.status = 503;
          ctx.body = 'busy';
        } else ctx.body = { ok: true };
      };
      // Undici holds a freed socket back for one event-loop turn before reusing it (in case the server closes
      // it after all), so an attempt dispatched in the very same turn would open a second one. The engine's
      // attempts of a job are a backoff timer apart; one turn stands in for that.
      const turn = () => new Promise((resolve) => setImmediate(resolve));
      await run(job({ attempt: 1 }));
      await turn();
      await rejection(run(job({ attempt: 2 })));
      await turn();
      await run(job({ attempt: 3 }));
      expect([received.length, connections]).to.deep.equal([3, 1]);
    });

    it('close() closes the keep-alive sockets', async () => {
      await run();
      expect(sockets.size).to.equal(1);
      const [socket] = sockets;
      const closed = new Promise((resolve) => socket!.once('close', resolve));
      await target.close();
      await closed;
      expect(sockets.size).to.equal(0);
    });
  });

  describe('a 2xx response', () => {
    it('resolves with the parsed JSON body', async () => {
      handler = (ctx) => {
        ctx.status = 201;
        ctx.body = { received: 'job-1', n: [1, 2] };
      };
      expect(await run()).to.deep.equal({ received: 'job-1', n: [1, 2] });
    });

    it('parses a +json content type', async () => {
      handler = (ctx) => {
        ctx.type = 'application/vnd.api+json; charset=utf-8';
        ctx.body = '{"data":7}';
      };
      expect(await run()).to.deep.equal({ data: 7 });
    });

    it('resolves with the text of a non-JSON body', async () => {
      handler = (ctx) => {
        ctx.type = 'text/plain';
        ctx.body = '{"looks":"like json"} but is text';
      };
      expect(await run()).to.equal('{"looks":"like json"} but is text');
    });

    it('resolves with the text of a body labelled JSON that is not (the receiver did the work; no retry)', async () => {
      handler = (ctx) => {
        ctx.type = 'application/json';
        ctx.body = 'done, thanks';
      };
      expect(await run()).to.equal('done, thanks');
    });

    it('resolves with null for an empty body', async () => {
      handler = (ctx) => {
        ctx.status = 204;
      };
      expect(await run()).to.equal(null);
    });

    it('ignores a Retry-After on success', async () => {
      handler = (ctx) => {
        ctx.set('retry-after', '7');
        ctx.body = 'done';
      };
      expect(await run()).to.equal('done');
    });
  });

  describe('a failure response', () => {
    for (const status of [408, 425, 429, 500, 503]) {
      it(`${status} is retryable (a plain Error, not a PermanentError)`, async () => {
        handler = (ctx) => {
          ctx.status = status;
          ctx.body = `nope ${status}`;
        };
        const error = await rejection(run());
        expect(error).to.be.instanceOf(Error).and.not.be.instanceOf(PermanentError);
        expect(error).not.to.be.instanceOf(RetryLaterError);
        expect((error as Error).message).to.equal(`HTTP ${status} from notify target: nope ${status}`);
      });
    }

    for (const status of [400, 404, 422]) {
      it(`${status} is a PermanentError naming the status and the body`, async () => {
        handler = (ctx) => {
          ctx.status = status;
          ctx.body = `bad ${status}`;
        };
        const error = await rejection(run());
        expect(error).to.be.instanceOf(PermanentError);
        expect((error as Error).message).to.equal(`HTTP ${status} from notify target: bad ${status}`);
      });
    }

    it('a 302 is a PermanentError and the redirect is not followed', async () => {
      handler = (ctx) => {
        if (ctx.path === '/elsewhere') return void (ctx.body = { followed: true });
        ctx.status = 302;
        ctx.set('location', `${base}/elsewhere`);
        ctx.body = 'moved';
      };
      const error = await rejection(run());
      expect(error).to.be.instanceOf(PermanentError);
      expect((error as Error).message).to.equal('HTTP 302 from notify target: moved');
      expect(received.map((r) => r.path)).to.deep.equal(['/hook']);
    });

    it('quotes only the first 200 characters of the body', async () => {
      handler = (ctx) => {
        ctx.status = 400;
        ctx.body = 'x'.repeat(200) + 'TAIL';
      };
      const error = await rejection(run());
      expect((error as Error).message).to.equal(`HTTP 400 from notify target: ${'x'.repeat(200)}`);
    });

    it('a huge error body is not read to the end: its socket is dropped, and the next attempt gets through', async function () {
      // A kept-alive socket would only close when idle for undici's 4 s; this limit makes that a failure.
      this.timeout(2000);
      let firstClosed!: Promise<unknown>;
      handler = (ctx) => {
        firstClosed = new Promise((resolve) => ctx.req.socket.once('close', resolve));
        ctx.status = 404;
        ctx.body = 'y'.repeat(1024 * 1024);
      };
      const error = await rejection(run());
      expect(error).to.be.instanceOf(PermanentError);
      expect((error as Error).message).to.equal(`HTTP 404 from notify target: ${'y'.repeat(200)}`);
      await firstClosed;
      handler = (ctx) => void (ctx.body = 'ok');
      expect(await run()).to.equal('ok');
    });

    it('an empty error body leaves the message at the status', async () => {
      handler = (ctx) => {
        ctx.status = 404;
        ctx.body = '';
      };
      expect(((await rejection(run())) as Error).message).to.equal('HTTP 404 from notify target');
    });

    it('a 503 with Retry-After: 7 is a RetryLaterError of 7000 ms', async () => {
      handler = (ctx) => {
        ctx.status = 503;
        ctx.set('retry-after', '7');
        ctx.body = 'later';
      };
      const error = await rejection(run());
      expect(error).to.be.instanceOf(RetryLaterError);
      expect((error as RetryLaterError).retryAfterMs).to.equal(7000);
      expect((error as Error).message).to.equal('HTTP 503 from notify target: later');
    });

    it('a 429 with an HTTP-date Retry-After 30 s after the injected now is a RetryLaterError of 30000 ms', async () => {
      const now = Date.UTC(2030, 0, 1, 12, 0, 0);
      handler = (ctx) => {
        ctx.status = 429;
        ctx.set('retry-after', new Date(now + 30_000).toUTCString());
      };
      const error = await rejection(run(job(), (make({ now: () => now }))));
      expect(error).to.be.instanceOf(RetryLaterError);
      expect((error as RetryLaterError).retryAfterMs).to.equal(30_000);
    });

    it('caps a Retry-After at retryAfterMaxMs, and floors a past date at 0', async () => {
      let value = String(CAP_MS / 1000 + 1);
      handler = (ctx) => {
        ctx.status = 503;
        ctx.set('retry-after', value);
      };
      expect(((await rejection(run())) as RetryLaterError).retryAfterMs).to.equal(CAP_MS);
      value = new Date(Date.now() - 60_000).toUTCString();
      expect(((await rejection(run())) as RetryLaterError).retryAfterMs).to.equal(0);
    });

    for (const value of ['soon', '1.5', '-1', 'soon 5']) {
      it(`an unreadable Retry-After (${JSON.stringify(value)}) leaves a plain retryable Error, so the backoff applies`, async () => {
        handler = (ctx) => {
          ctx.status = 503;
          ctx.set('retry-after', value);
        };
        const error = await rejection(run());
        expect(error).to.be.instanceOf(Error).and.not.be.instanceOf(RetryLaterError);
      });
    }

    it('ignores Retry-After on a permanent failure', async () => {
      handler = (ctx) => {
        ctx.status = 400;
        ctx.set('retry-after', '7');
      };
      expect(await rejection(run())).to.be.instanceOf(PermanentError).and.not.be.instanceOf(RetryLaterError);
    });
  });

  describe('no answer: connection errors and aborts', () => {
    it('a refused connection is retryable, and its message names the code', async () => {
      // A port that was just free: bind, note it, close.
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const { port } = probe.address() as AddressInfo;
      await new Promise((resolve) => probe.close(resolve));
      const error = await rejection(run(job(), (make({ url: `http://127.0.0.1:${port}/hook` }))));
      expect(error).to.be.instanceOf(Error).and.not.be.instanceOf(PermanentError);
      expect((error as Error).message).to.equal(
        `Cannot reach notify target: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:${port})`,
      );
    });

    it('a header undici refuses (a types-file mistake) is a PermanentError, and nothing is sent', async () => {
      const error = await rejection(run(job(), make({ headers: { 'transfer-encoding': 'chunked' } })));
      expect(error).to.be.instanceOf(PermanentError);
      expect((error as Error).message).to.equal('Invalid request to notify target: invalid transfer-encoding header');
      expect(received).to.deep.equal([]);
    });

    it('an abort ends a hanging request promptly with the signal reason, and the receiver sees it closed', async () => {
      let arrived!: () => void;
      const hasArrived = new Promise<void>((resolve) => (arrived = resolve));
      let receiverSawClose!: Promise<void>;
      handler = (ctx) => {
        receiverSawClose = new Promise((resolve) => ctx.res.once('close', resolve));
        arrived();
        return receiverSawClose; // never answers
      };
      const controller = new AbortController();
      const attempt = target.processor(job(), context(controller.signal));
      await hasArrived;
      const reason = new Error('attempt timed out after 30000 ms');
      const started = performance.now();
      controller.abort(reason);
      expect(await rejection(attempt)).to.equal(reason);
      expect(performance.now() - started).to.be.below(500);
      await receiverSawClose;
    });

    it('an abort while the body streams rejects with the signal reason', async () => {
      handler = async (ctx) => {
        ctx.respond = false; // write by hand: headers and a first chunk, then nothing
        ctx.res.writeHead(200, { 'content-type': 'application/json' });
        ctx.res.write('{"partial":');
        await new Promise((resolve) => ctx.res.once('close', resolve));
      };
      // Undici's own event for "the client has the response headers": from then on the body is what streams.
      const headersChannel = diagnostics.channel('undici:request:headers');
      const headersIn = new Promise<void>((resolve) => {
        const onHeaders = () => {
          headersChannel.unsubscribe(onHeaders);
          resolve();
        };
        headersChannel.subscribe(onHeaders);
      });
      const controller = new AbortController();
      const attempt = target.processor(job(), context(controller.signal));
      await headersIn;
      await new Promise((resolve) => setImmediate(resolve)); // let the processor get to reading the body
      const reason = new Error('cancelled');
      controller.abort(reason);
      expect(await rejection(attempt)).to.equal(reason);
    });

    it('an already aborted signal rejects with its reason and sends nothing', async () => {
      const controller = new AbortController();
      const reason = new Error('shutting down');
      controller.abort(reason);
      expect(await rejection(target.processor(job(), context(controller.signal)))).to.equal(reason);
      expect(received).to.deep.equal([]);
    });
  });

  describe('connections', () => {
    it('opens at most `connections` sockets, the other requests waiting for one of them', async () => {
      const capped = make({ connections: 2 });
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      let inFlight = 0;
      let most = 0;
      handler = async (ctx) => {
        most = Math.max(most, ++inFlight);
        await gate;
        inFlight--;
        ctx.body = { ok: true };
      };
      const attempts = [1, 2, 3, 4, 5].map((n) => run(job({ id: `job-${n}` }), capped));
      while (received.length < 2) await new Promise((resolve) => setImmediate(resolve));
      release();
      expect(await Promise.all(attempts)).to.deep.equal([1, 2, 3, 4, 5].map(() => ({ ok: true })));
      expect([connections, most, received.length]).to.deep.equal([2, 2, 5]);
    });
  });

  describe('options', () => {
    it('refuses a URL that is not http(s)', () => {
      expect(() => make({ url: 'file:///etc/passwd' })).to.throw(
        TypeError,
        'The notify target URL must be http: or https:, got "file:".',
      );
    });

    it('refuses an empty secret', () => {
      expect(() => make({ secret: 'whsec_' })).to.throw(
        TypeError,
        'The webhook secret for the notify target is empty or not base64.',
      );
    });
  });
});
