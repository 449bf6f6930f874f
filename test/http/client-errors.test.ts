/**
 * Client protocol errors (malformed HTTP, a body cut off) are the client's, not the service's: logged at debug,
 * without the raw bytes, and at most CLIENT_ERROR_LINES_PER_WINDOW lines a second.
 */
import { expect } from 'chai';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { CLIENT_ERROR_LINES_PER_WINDOW, clientErrorLogger } from '../../src/http/client-errors.js';
import { startService, type Service } from './support.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sizes: number[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      sizes.push(String(chunk).length);
      const { time: _t, pid: _p, hostname: _h, ...line } = JSON.parse(String(chunk)) as Record<string, unknown>;
      lines.push(line);
      done();
    },
  });
  return { lines, sizes, logger: pino({ level: 'trace' }, stream) };
}

/** Sends raw bytes on a new connection; resolves with what came back once the server closed it. */
function exchange(service: Service, bytes: string, options: { hangUp?: boolean } = {}): Promise<string> {
  const { port } = new URL(service.url('/'));
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let reply = '';
    socket.on('data', (data) => (reply += data));
    socket.on('close', () => resolve(reply));
    socket.on('error', reject);
    // Ending our side in the middle of a body is a client that went away mid-upload.
    if (options.hangUp) socket.end(bytes);
    else socket.write(bytes);
  });
}

const PADDING = `X-Pad: ${'a'.repeat(15_000)}\r\n`;

describe('client protocol errors', () => {
  let service: Service;
  afterEach(async () => {
    await service?.stop();
    service = undefined as unknown as Service;
  });

  it('logs a bad chunk size after 15 KB of headers as one short debug line, never at error and without the raw packet', async () => {
    const { lines, sizes, logger } = capture();
    service = await startService({ logger });
    const reply = await exchange(
      service,
      `POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n${PADDING}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    );
    expect(reply).to.match(/^HTTP\/1\.1 400 /);
    const protocolLines = lines.filter((line) => line.msg !== 'request');
    expect(protocolLines).to.deep.equal([
      {
        level: 20,
        code: 'HPE_INVALID_CHUNK_SIZE',
        reason: 'Invalid character in chunk size',
        where: 'parser',
        msg: 'client protocol error',
      },
    ]);
    expect(Math.max(...sizes)).to.be.lessThan(500);
  });

  it('logs a malformed header line at debug, and answers 400 as Node does', async () => {
    const { lines, logger } = capture();
    service = await startService({ logger });
    const reply = await exchange(service, `GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n${PADDING}Bad Header\r\n\r\n`);
    expect(reply).to.equal('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    expect(lines).to.deep.equal([
      { level: 20, code: 'HPE_INVALID_HEADER_TOKEN', reason: 'Invalid header token', where: 'parser', msg: 'client protocol error' },
    ]);
  });

  it('logs a body cut off by a disconnection below warn: its request line, and the debug line of the parser', async () => {
    const { lines, logger } = capture();
    service = await startService({ logger });
    await exchange(
      service,
      'POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":',
      { hangUp: true },
    );
    while (!lines.some((line) => line.msg === 'request')) await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((line) => (line.level as number) >= 40)).to.deep.equal([]);
  });

  it(`writes at most ${CLIENT_ERROR_LINES_PER_WINDOW} lines a second, then says how many it left out`, () => {
    const { lines, logger } = capture();
    let now = 0;
    const log = clientErrorLogger(logger, () => now);
    const error = Object.assign(new Error('Parse Error'), { code: 'HPE_INVALID_METHOD', reason: 'Invalid method' });
    for (let i = 0; i < 25; i++) log(error, 'parser');
    expect(lines).to.have.length(CLIENT_ERROR_LINES_PER_WINDOW);
    now = 999;
    log(error, 'parser');
    expect(lines).to.have.length(CLIENT_ERROR_LINES_PER_WINDOW);
    now = 1000;
    log(error, 'parser');
    expect(lines.at(-1)).to.deep.equal({
      level: 20, code: 'HPE_INVALID_METHOD', reason: 'Invalid method', where: 'parser', suppressed: 16, msg: 'client protocol error',
    });
  });
});
