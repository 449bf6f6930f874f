/**
 * Request bodies JSON or UTF-8 cannot carry as sent, and ids that would display as something they are not.
 */
import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { startService, type Service } from './support.js';

const validationFailed = (details: Record<string, string[]>) => ({
  error: { code: 'validation_failed', message: 'The request does not match the expected shape; see details.', details },
});

describe('request bodies at the edges', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService({ config: { workers: 1, queueSize: 5 } });
  });
  afterEach(() => service.stop());

  describe('numbers JSON cannot carry', () => {
    it('refuses 1e400 in a payload with 400 validation_failed naming the field, and admits nothing', async () => {
      const reply = await service.post('/jobs', '{"id":"big","payload":{"order":{"amounts":[1,-1e400]}}}');
      expect(reply.status).to.equal(400);
      expect(reply.body).to.deep.equal(
        validationFailed({
          'payload.order.amounts.1': ['Must be a finite number: this one is too large for JSON to carry (it would be stored as null).'],
        }),
      );
      expect((await service.get('/jobs/big')).status).to.equal(404);
    });

    it('refuses 1e400 in one batch item only', async () => {
      const reply = await service.post('/jobs/batch', '{"jobs":[{"id":"ok"},{"id":"inf","payload":1e400}]}');
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.equal({
        results: [
          { id: 'ok', status: 202 },
          {
            id: 'inf',
            status: 400,
            error: validationFailed({
              payload: ['Must be a finite number: this one is too large for JSON to carry (it would be stored as null).'],
            }).error,
          },
        ],
      });
    });
  });

  describe('charsets and encodings', () => {
    it('refuses a declared charset other than UTF-8 with 415, saying so', async () => {
      const reply = await service.post('/jobs', '{"id":"a"}', { 'Content-Type': 'application/json; charset=ISO-8859-1' });
      expect(reply.status).to.equal(415);
      expect(reply.body).to.deep.equal({
        error: {
          code: 'unsupported_media_type',
          message: 'The body must be UTF-8, but Content-Type declares charset "ISO-8859-1"; send UTF-8, with charset=utf-8 or no charset.',
        },
      });
    });

    it('accepts charset=utf-8 in any case', async () => {
      const reply = await service.post('/jobs', '{"id":"a"}', { 'Content-Type': 'application/json; Charset="UTF-8"' });
      expect(reply.status).to.equal(202);
    });

    it('refuses an unknown Content-Encoding with its own 415 message', async () => {
      const reply = await service.post('/jobs', '{"id":"a"}', { 'Content-Encoding': 'zstd-ish' });
      expect(reply.status).to.equal(415);
      expect(reply.body).to.deep.equal({
        error: {
          code: 'unsupported_media_type',
          message: 'Content-Encoding "zstd-ish" is not supported; send the body as it is, or gzip, deflate or br.',
        },
      });
    });

    it('reads a gzip body', async () => {
      const reply = await service.request('POST', '/jobs', {
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
        body: gzipSync('{"id":"zipped"}'),
      });
      expect(reply.status).to.equal(202);
    });

    it('refuses a body that is not valid UTF-8 with 400 invalid_json, rather than replacing the bytes', async () => {
      const bytes = Buffer.concat([Buffer.from('{"id":"a","payload":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      const reply = await service.request('POST', '/jobs', { headers: { 'Content-Type': 'application/json' }, body: bytes });
      expect(reply.status).to.equal(400);
      expect(reply.body).to.deep.equal({
        error: { code: 'invalid_json', message: 'The request body is not valid JSON: it is not valid UTF-8' },
      });
      expect((await service.get('/jobs/a')).status).to.equal(404);
    });
  });

  describe('ids that display as something else', () => {
    for (const [label, id] of [
      ['a right-to-left override', 'invoice-\u202Efdp.exe'],
      ['a zero-width space', 'job\u200B1'],
      ['a zero-width joiner', 'job\u200D1'],
      ['a byte order mark', '\uFEFFjob'],
      ['a bidi isolate', 'job\u20661'],
    ]) {
      it(`refuses an id with ${label}`, async () => {
        const reply = await service.post('/jobs', { id });
        expect(reply.status).to.equal(400);
        expect(reply.body).to.deep.equal(
          validationFailed({
            id: ['Must not contain invisible formatting characters (bidirectional overrides, zero-width characters).'],
          }),
        );
      });
    }
  });

  describe('__proto__ inside a payload', () => {
    it('is data: admitted, stored and shown as an ordinary key, with no effect on any prototype', async () => {
      const text = '{"id":"p","payload":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}';
      const reply = await service.post('/jobs', text);
      expect(reply.status).to.equal(202);
      const shown = await service.get('/jobs/p');
      expect(shown.text).to.contain('"payload":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
      // The identical resubmit is recognised as the same job.
      expect((await service.post('/jobs', text)).status).to.equal(200);
    });

    it('at the top of the body is an unknown field', async () => {
      const reply = await service.post('/jobs', '{"__proto__": 1}');
      expect(reply.status).to.equal(400);
      // Built from JSON: a `__proto__` key in an object literal would set the prototype instead.
      const details = JSON.parse('{"__proto__":["Unknown field; allowed: id, type, payload, max_retries, priority, run_at, delay_ms."]}') as Record<string, string[]>;
      expect(reply.body).to.deep.equal(validationFailed(details));
    });
  });
});
