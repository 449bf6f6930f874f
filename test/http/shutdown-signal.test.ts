/**
 * A shutdown signal and an admission read in the same poll phase of the event loop. This is what happens when
 * a request arrives a few milliseconds after SIGTERM while the loop is busy: libuv runs the signal handlers
 * last in a poll phase, after every socket callback of it. The signal must still win: the request is refused
 * with 503 `shutting_down`.
 *
 * In-process, on the real service (`startService`) with the handlers `main.ts` installs (`closeOnSignals`), on
 * SIGUSR2 so that nothing else in the test process reacts to it. The test sends the signal to its own process,
 * then writes the request on a keep-alive connection the server has already accepted, in the same turn: both
 * are pending when the loop next polls, as they are for a busy service. Nothing sleeps.
 */
import { connect, type Socket } from 'node:net';
import { expect } from 'chai';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import type { Processor } from '../../src/processors/processor.js';
import { startService, type Service } from '../../src/server.js';
import { closeOnSignals } from '../../src/shutdown-signals.js';

const SIGNAL = 'SIGUSR2';

const shuttingDown = {
  error: {
    code: 'shutting_down',
    message: 'The service is shutting down and accepts no new jobs; retry on another instance.',
  },
};

/** Succeeds at once, or fails at once for the payload "fail". */
const processor: Processor = async (job) => {
  if (job.payload === 'fail') throw new Error('failed on purpose');
  return null;
};

interface Reply {
  status: number;
  /** Parsed when it is JSON, else the text. */
  body: unknown;
}

/**
 * One HTTP/1.1 connection on a raw socket. `send` writes the whole request before it returns (so that it is in
 * the kernel when the caller's turn ends) and resolves with the reply; `close: true` asks for `Connection: close`.
 */
async function openConnection(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = Buffer.alloc(0);
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    waiting?.();
  });
  socket.on('close', () => waiting?.());

  /** The next complete response on the connection. */
  function nextReply(): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const headEnd = received.indexOf('\r\n\r\n');
        if (headEnd >= 0) {
          const head = received.subarray(0, headEnd).toString('latin1');
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (received.length >= headEnd + 4 + length) {
            const text = received.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
            received = received.subarray(headEnd + 4 + length);
            waiting = undefined;
            const json = /\r\ncontent-type: *application\/json/i.test(head);
            resolve({ status: Number(head.split(' ')[1]), body: json ? JSON.parse(text) : text });
            return;
          }
        }
        if (socket.destroyed) reject(new Error(`the connection closed before a whole reply: ${received.toString()}`));
      };
      waiting = check;
      check();
    });
  }

  return {
    send(method: string, path: string, body?: unknown, { close = false } = {}): Promise<Reply> {
      const text = body === undefined ? '' : JSON.stringify(body);
      socket.write(
        `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Connection: ${close ? 'close' : 'keep-alive'}\r\n` +
          (body === undefined ? 'X-Requested-With: test\r\n' : `Content-Type: application/json\r\n`) +
          `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
      );
      return nextReply();
    },
    destroy: () => socket.destroy(),
  };
}

describe('a shutdown signal read in the same poll phase as an admission', () => {
  let service: Service;
  let removeHandlers: () => void;
  let exitCode: Promise<number>;
  let connection: Awaited<ReturnType<typeof openConnection>>;

  beforeEach(async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', STORE: 'memory', WORKERS: '1', QUEUE_SIZE: '4' });
    service = await startService(config, pino({ level: 'silent' }), { processor });
    let exit!: (code: number) => void;
    exitCode = new Promise((resolve) => (exit = resolve));
    removeHandlers = closeOnSignals(service, pino({ level: 'silent' }), { signals: [SIGNAL], exit });
    connection = await openConnection(service.address.port);
    // The server has accepted the connection and read a request on it: the next one is read by a socket
    // callback, in the poll phase, as a busy service's would be.
    expect((await connection.send('GET', '/healthz')).status).to.equal(200);
  });

  afterEach(async () => {
    connection.destroy();
    await service.close();
    removeHandlers();
  });

  /** Raises the signal, then writes the request, in one turn; resolves with the reply. */
  function signalThenSend(method: string, path: string, body?: unknown): Promise<Reply> {
    process.kill(process.pid, SIGNAL);
    return connection.send(method, path, body, { close: true });
  }

  it('POST /jobs is refused with 503 shutting_down, and the shutdown exits 0 with nothing unfinished', async () => {
    const reply = await signalThenSend('POST', '/jobs', { id: 'late', payload: null });
    expect(reply).to.deep.equal({ status: 503, body: shuttingDown });
    expect(await exitCode).to.equal(0);
    expect(await service.close()).to.deep.equal({ unfinished: [], forced: false, exitCode: 0 });
    expect((await service.queue.get('late'))).to.equal(undefined);
    expect((await service.queue.stats()).totals.submitted).to.equal(0);
  });

  it('POST /enqueue is refused with 503 shutting_down', async () => {
    const reply = await signalThenSend('POST', '/enqueue', { id: 'late', payload: null });
    expect(reply).to.deep.equal({ status: 503, body: shuttingDown });
    expect(await exitCode).to.equal(0);
    expect((await service.queue.get('late'))).to.equal(undefined);
  });

  it('POST /jobs/batch is refused as a whole with 503 shutting_down', async () => {
    const reply = await signalThenSend('POST', '/jobs/batch', { jobs: [{ id: 'late-1' }, { id: 'late-2' }] });
    expect(reply).to.deep.equal({ status: 503, body: shuttingDown });
    expect(await exitCode).to.equal(0);
    expect([(await service.queue.get('late-1')), (await service.queue.get('late-2'))]).to.deep.equal([undefined, undefined]);
    expect((await service.queue.stats()).totals.submitted).to.equal(0);
  });

  it('an operator retry (POST /jobs/:id/retry) is refused with 503 shutting_down; the job stays failed', async () => {
    const failed = new Promise<void>((resolve) =>
      service.queue.on('transition', (t) => t.id === 'broken' && t.to === 'failed' && resolve()),
    );
    const submitted = await connection.send('POST', '/jobs', { id: 'broken', payload: 'fail', max_retries: 0 });
    expect(submitted.status).to.equal(202);
    await failed;

    const reply = await signalThenSend('POST', '/jobs/broken/retry');
    expect(reply).to.deep.equal({ status: 503, body: shuttingDown });
    expect(await exitCode).to.equal(0);
    expect((await service.queue.get('broken'))).to.deep.include({ state: 'failed', attempts: 1 });
    expect((await service.queue.stats()).totals).to.deep.include({ submitted: 1, failed: 1, manual_retries: 0 });
  });
});
