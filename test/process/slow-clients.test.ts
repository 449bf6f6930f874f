/**
 * Slow clients against the real process: a body that never ends is cut at HTTP_REQUEST_TIMEOUT_MS, and a
 * slowloris (200 connections each sending a header byte a second) does not slow `/healthz` past 100 ms.
 * These run on real time: what is measured is the server's own timers and event loop.
 */
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { killAll, startService, waitUntilHealthy } from './child-service.js';

/** Opens a connection and sends `head`; resolves once it is connected. */
function openSlow(port: number, head: string): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    let received = '';
    const started = Date.now();
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      resolve({ socket, received: () => received, closed });
    });
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - started)));
  });
}

describe('slow clients (process)', function () {
  this.timeout(30_000);
  afterEach(() => killAll());

  it('cuts a chunked body that never ends with 408 once HTTP_REQUEST_TIMEOUT_MS has passed', async () => {
    const child = await startService({ HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000' });
    await waitUntilHealthy(child);
    const slow = await openSlow(
      child.port,
      'POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n',
    );
    const heldMs = await slow.closed;
    expect(slow.received()).to.match(/^HTTP\/1\.1 408 /);
    // The timeout, plus at most one check interval (1 s) and some slack for a loaded machine.
    expect(heldMs).to.be.within(2000, 4500);
  });

  it('answers /healthz within 100 ms while 200 connections each send a header byte a second', async () => {
    const child = await startService({ LOG_LEVEL: 'warn' });
    await waitUntilHealthy(child);
    const slow = await Promise.all(
      Array.from({ length: 200 }, () => openSlow(child.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ')),
    );
    const drip = setInterval(() => slow.forEach(({ socket }) => socket.write('a')), 1000);
    const latencies: number[] = [];
    try {
      for (let probe = 0; probe < 20; probe++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const started = performance.now();
        const response = await fetch(child.url('/healthz'), { headers: { connection: 'close' } });
        await response.text();
        expect(response.status).to.equal(200);
        latencies.push(performance.now() - started);
      }
    } finally {
      clearInterval(drip);
      slow.forEach(({ socket }) => socket.destroy());
    }
    latencies.sort((a, b) => a - b);
    console.log(
      `      slowloris: /healthz p50 ${latencies[10]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms over ${latencies.length} probes`,
    );
    expect(latencies.at(-1)).to.be.lessThan(100);
  });
});
