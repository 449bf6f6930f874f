/**
 * Cross-site writes and DNS rebinding: a write must carry JSON or X-Requested-With, and `Host` must be a name
 * the service answers to.
 */
import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { startService, type Service } from './support.js';

/** A request with a `Host` of our choosing (fetch always sends the URL's). */
function withHost(service: Service, method: string, path: string, host: string) {
  const url = new URL(service.url(path));
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path, method, headers: { host, connection: 'close', 'x-requested-with': 'test' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body: text.startsWith('{') ? JSON.parse(text) : text }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('request guards', () => {
  let service: Service;
  afterEach(() => service.stop());

  describe('writes a cross-site form could send', () => {
    for (const [label, headers] of [
      ['text/plain', { 'content-type': 'text/plain', 'x-requested-with': '' }],
      ['form-encoded', { 'content-type': 'application/x-www-form-urlencoded', 'x-requested-with': '' }],
      ['no body at all', { 'x-requested-with': '' }],
    ] as const) {
      it(`refuses a cancel sent as ${label} with 415, and leaves the job queued`, async () => {
        service = await startService();
        await service.post('/jobs', { id: 'a' });
        await service.post('/jobs', { id: 'b' });
        const reply = await service.request('POST', '/jobs/b/cancel', { headers, body: label === 'no body at all' ? undefined : 'x=1' });
        expect(reply.status).to.equal(415);
        expect(reply.body).to.deep.equal({
          error: {
            code: 'unsupported_media_type',
            message:
              'content-type' in headers
                ? `Content-Type must be application/json, got ${JSON.stringify(headers['content-type'])}.`
                : 'A POST must send Content-Type: application/json (with or without a body) or an X-Requested-With ' +
                  'header, which a cross-site form cannot send; got neither.',
          },
        });
        expect((await service.get('/jobs/b')).body).to.include({ state: 'queued' });
      });
    }

    it('refuses a retry sent as a form the same way', async () => {
      service = await startService();
      const reply = await service.request('POST', '/jobs/b/retry', {
        headers: { 'content-type': 'multipart/form-data; boundary=x', 'x-requested-with': '' },
        body: '--x--',
      });
      expect(reply.status).to.equal(415);
    });

    it('accepts a cancel with Content-Type: application/json and no body, and a retry with X-Requested-With', async () => {
      service = await startService();
      await service.post('/jobs', { id: 'a' });
      await service.post('/jobs', { id: 'b' });
      const json = await service.request('POST', '/jobs/b/cancel', { headers: { 'content-type': 'application/json' } });
      const custom = await service.request('POST', '/jobs/b/retry', { headers: { 'x-requested-with': 'fetch' } });
      expect([json.status, custom.status]).to.deep.equal([200, 202]);
    });
  });

  describe('Host', () => {
    it('on loopback, refuses a name that is not loopback with 421 host_not_allowed, and answers loopback names', async () => {
      service = await startService();
      expect(await withHost(service, 'GET', '/stats', 'rebound.example:8080')).to.deep.equal({
        status: 421,
        body: {
          error: {
            code: 'host_not_allowed',
            message:
              'This service does not answer to the host "rebound.example"; it answers to a loopback name ' +
              '(localhost, 127.0.0.1, ::1). Set ALLOWED_HOSTS to the names clients use.',
            details: { host: 'rebound.example', allowed: ['a loopback name (localhost, 127.0.0.1, ::1)'] },
          },
        },
      });
      for (const host of ['localhost:8080', '127.0.0.1', '[::1]:8080', 'LOCALHOST.']) {
        expect((await withHost(service, 'GET', '/stats', host)).status, host).to.equal(200);
      }
    });

    it('with ALLOWED_HOSTS beyond loopback, answers those names only, and the probes under any name', async () => {
      service = await startService({ config: { host: '0.0.0.0', allowedHosts: ['jobs.example.com'] } });
      expect((await withHost(service, 'GET', '/stats', 'jobs.example.com')).status).to.equal(200);
      expect((await withHost(service, 'GET', '/stats', 'Jobs.Example.com:443')).status).to.equal(200);
      expect((await withHost(service, 'GET', '/stats', 'localhost')).status).to.equal(421);
      expect((await withHost(service, 'GET', '/healthz', '10.1.2.3:8080')).status).to.equal(200);
      expect((await withHost(service, 'GET', '/readyz', '10.1.2.3:8080')).status).to.equal(200);
    });

    it('beyond loopback without ALLOWED_HOSTS, answers any name', async () => {
      service = await startService({ config: { host: '0.0.0.0' } });
      expect((await withHost(service, 'GET', '/stats', 'anything.example')).status).to.equal(200);
    });
  });
});
