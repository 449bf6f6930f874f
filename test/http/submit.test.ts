import { expect } from 'chai';
import { iso, startService, T0, view, type Service } from './support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/; // v7

/** The message V8 gives for `text`, which the invalid_json body carries. */
function parseError(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} parses`);
}

const validationFailed = (details: Record<string, string[]>) => ({
  error: {
    code: 'validation_failed',
    message: 'The request does not match the expected shape; see details.',
    details,
  },
});

/** MAX_BODY_BYTES here: room for an id of 256 four-byte code points. */
const LIMIT = 2048;

const tooLarge = {
  error: { code: 'payload_too_large', message: `The request body is larger than the limit of ${LIMIT} bytes.` },
};

describe('POST /jobs and POST /enqueue', () => {
  let service: Service;
  beforeEach(async () => {
    // Room for three jobs, so that only the queue-full tests fill it.
    service = await startService({ config: { workers: 1, queueSize: 2, maxBodyBytes: LIMIT } });
  });
  afterEach(() => service.stop());

  describe('202 queued', () => {
    for (const path of ['/jobs', '/enqueue']) {
      it(`${path} admits a job and points Location at it`, async () => {
        const reply = await service.post(path, { id: 'job-1', payload: { n: 1 }, max_retries: 5 });
        expect(reply.status).to.equal(202);
        expect(reply.body).to.deep.equal({ status: 'queued', id: 'job-1' });
        expect(reply.headers.get('location')).to.equal('/jobs/job-1');
        // One worker: the first job starts at once.
        expect((await service.get('/jobs/job-1')).body).to.deep.equal(
          view({ id: 'job-1', state: 'running', payload: { n: 1 }, max_retries: 5, attempts: 1, started_at: iso(T0) }),
        );
      });
    }

    it('generates a UUID when the id is missing, and defaults payload to null and max_retries to 3', async () => {
      const reply = await service.post('/jobs', {});
      expect(reply.status).to.equal(202);
      const { id } = reply.body as { id: string };
      expect(id).to.match(UUID);
      expect(reply.body).to.deep.equal({ status: 'queued', id });
      expect(reply.headers.get('location')).to.equal(`/jobs/${id}`);
      expect((await service.get(`/jobs/${id}`)).body).to.deep.equal(
        view({ id, state: 'running', attempts: 1, started_at: iso(T0) }),
      );
    });

    it('url-encodes the id in Location, and that Location finds the job', async () => {
      const reply = await service.post('/jobs', { id: 'a b/c' });
      expect(reply.status).to.equal(202);
      expect(reply.body).to.deep.equal({ status: 'queued', id: 'a b/c' });
      expect(reply.headers.get('location')).to.equal('/jobs/a%20b%2Fc');
      const job = await service.get(reply.headers.get('location')!);
      expect(job.status).to.equal(200);
      expect((job.body as { id: string }).id).to.equal('a b/c');
    });

    it('returns the payload exactly as it was sent', async () => {
      const payload = { z: [1, 2.5, -0.001, 1e21, true, null, 'ünï©ødé 🎉'], a: { nested: { deep: [] } }, '': {} };
      await service.post('/jobs', { id: 'exact', payload });
      expect((await service.get('/jobs/exact')).body).to.have.property('payload').that.deep.equals(payload);
    });

    it('accepts any JSON value as payload, and a charset in the Content-Type', async () => {
      const reply = await service.post('/jobs', { id: 's', payload: 'text' }, {
        'Content-Type': 'Application/JSON; charset=utf-8',
      });
      expect(reply.status).to.equal(202);
      expect((await service.get('/jobs/s')).body).to.have.property('payload', 'text');
    });

    it('accepts ids that only look like paths', async () => {
      for (const id of ['...', '../x', '?a=b#c %']) {
        const reply = await service.post('/jobs', { id });
        expect(reply.status).to.equal(202);
        expect((await service.get(reply.headers.get('location')!)).body).to.have.property('id', id);
      }
    });

    it('accepts an id of exactly 256 astral code points (512 UTF-16 units)', async () => {
      const id = '😀'.repeat(256);
      expect(id.length).to.equal(512);
      const reply = await service.post('/jobs', { id });
      expect(reply.status).to.equal(202);
      expect(reply.body).to.deep.equal({ status: 'queued', id });
      expect(reply.headers.get('location')).to.equal(`/jobs/${encodeURIComponent(id)}`);
    });

    it('accepts max_retries from 0 to MAX_RETRIES_LIMIT', async () => {
      expect((await service.post('/jobs', { id: 'zero', max_retries: 0 })).status).to.equal(202);
      expect((await service.post('/jobs', { id: 'max', max_retries: 20 })).status).to.equal(202);
    });

    it('accepts a body of exactly MAX_BODY_BYTES', async () => {
      const json = JSON.stringify({ id: 'big', payload: '' });
      const body = json.slice(0, -2) + 'x'.repeat(LIMIT - json.length) + '"}';
      expect(Buffer.byteLength(body)).to.equal(LIMIT);
      expect((await service.post('/jobs', body)).status).to.equal(202);
    });
  });

  describe('415 unsupported_media_type', () => {
    for (const [contentType, shown] of [
      ['text/plain', '"text/plain"'],
      ['application/x-www-form-urlencoded', '"application/x-www-form-urlencoded"'],
      ['application/jsonx', '"application/jsonx"'],
    ]) {
      it(`refuses Content-Type ${contentType}`, async () => {
        const reply = await service.post('/jobs', { id: 'x' }, { 'Content-Type': contentType });
        expect(reply.status).to.equal(415);
        expect(reply.body).to.deep.equal({
          error: {
            code: 'unsupported_media_type',
            message: `Content-Type must be application/json, got ${shown}.`,
          },
        });
      });
    }

    it('refuses a body without Content-Type', async () => {
      const reply = await service.request('POST', '/enqueue', { body: new Uint8Array(Buffer.from('{}')) });
      expect(reply.status).to.equal(415);
      expect(reply.body).to.deep.equal({
        error: { code: 'unsupported_media_type', message: 'Content-Type must be application/json, got none.' },
      });
    });

    it('comes before 413 and invalid_json', async () => {
      const reply = await service.post('/jobs', '{'.repeat(LIMIT * 2), { 'Content-Type': 'text/plain' });
      expect(reply.status).to.equal(415);
      expect(reply.body).to.have.nested.property('error.code', 'unsupported_media_type');
    });
  });

  describe('413 payload_too_large', () => {
    it('refuses a declared Content-Length over MAX_BODY_BYTES', async () => {
      const reply = await service.post('/jobs', { id: 'big', payload: 'x'.repeat(LIMIT) });
      expect(reply.status).to.equal(413);
      expect(reply.body).to.deep.equal(tooLarge);
    });

    it('refuses a chunked body once it passes MAX_BODY_BYTES', async () => {
      const chunk = new TextEncoder().encode(' '.repeat(LIMIT / 2 + 1));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(chunk);
          controller.enqueue(chunk);
          controller.close();
        },
      });
      const reply = await service.request('POST', '/jobs', {
        headers: { 'Content-Type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(reply.status).to.equal(413);
      expect(reply.body).to.deep.equal(tooLarge);
    });

    it('comes before invalid_json', async () => {
      const reply = await service.post('/jobs', '{'.repeat(LIMIT + 1));
      expect(reply.status).to.equal(413);
      expect(reply.body).to.deep.equal(tooLarge);
    });

    it('leaves the server answering on the same keep-alive connection', async () => {
      await service.post('/jobs', 'x'.repeat(LIMIT * 4));
      expect((await service.get('/healthz')).status).to.equal(200);
    });
  });

  describe('400 invalid_json', () => {
    it('refuses an empty body', async () => {
      const reply = await service.post('/jobs', '');
      expect(reply.status).to.equal(400);
      expect(reply.body).to.deep.equal({
        error: { code: 'invalid_json', message: 'The request body is not valid JSON: the body is empty' },
      });
    });

    for (const text of ['{"id":', "{'id':'x'}", '{"id":"x"} trailing']) {
      it(`refuses ${JSON.stringify(text)}`, async () => {
        const reply = await service.post('/jobs', text);
        expect(reply.status).to.equal(400);
        expect(reply.body).to.deep.equal({
          error: { code: 'invalid_json', message: `The request body is not valid JSON: ${parseError(text)}` },
        });
      });
    }
  });

  describe('400 validation_failed', () => {
    const cases: [string, unknown, Record<string, string[]>][] = [
      ['a body that is not an object', [1, 2], { body: ['Must be a JSON object.'] }],
      ['a null body', null, { body: ['Must be a JSON object.'] }],
      [
        'an unknown field (a typo of max_retries)',
        { id: 'x', max_retry: 3 },
        { max_retry: ['Unknown field; allowed: id, type, payload, max_retries, priority, run_at, delay_ms.'] },
      ],
      ['max_retries as a string', { max_retries: '3' }, { max_retries: ['Must be an integer from 0 to 20.'] }],
      ['a fractional max_retries', { max_retries: 2.5 }, { max_retries: ['Must be an integer from 0 to 20.'] }],
      ['a negative max_retries', { max_retries: -1 }, { max_retries: ['Must be an integer from 0 to 20.'] }],
      ['max_retries over the limit', { max_retries: 21 }, { max_retries: ['Must be an integer from 0 to 20.'] }],
      ['max_retries null', { max_retries: null }, { max_retries: ['Must be an integer from 0 to 20.'] }],
      ['a numeric id', { id: 7 }, { id: ['Must be a string.'] }],
      ['an empty id', { id: '' }, { id: ['Must be 1–256 characters (Unicode code points).'] }],
      [
        'an id of 257 code points',
        { id: '😀'.repeat(257) },
        { id: ['Must be 1–256 characters (Unicode code points).'] },
      ],
      ...['\u0000', '\n', '\t', '\u007f', '\u0085'].map(
        (control): [string, unknown, Record<string, string[]>] => [
          `an id with the control character U+${control.codePointAt(0)!.toString(16).padStart(4, '0')}`,
          { id: `a${control}b` },
          { id: ['Must not contain control characters or unpaired surrogates.'] },
        ],
      ),
      [
        'an id with an unpaired surrogate',
        JSON.parse('{"id": "a\\ud800b"}'),
        { id: ['Must not contain control characters or unpaired surrogates.'] },
      ],
      ...['.', '..'].map((id): [string, unknown, Record<string, string[]>] => [
        `the id ${JSON.stringify(id)}, which no URL can reach`,
        { id },
        { id: ['Must not be "." or "..", which a URL path cannot hold.'] },
      ]),
      [
        'a payload nested deeper than 128 levels',
        { payload: JSON.parse('['.repeat(129) + ']'.repeat(129)) },
        { payload: ['Must nest at most 128 arrays or objects deep.'] },
      ],
      [
        'several bad fields at once',
        { id: '', max_retries: '3', extra: true, other: 1 },
        {
          id: ['Must be 1–256 characters (Unicode code points).'],
          max_retries: ['Must be an integer from 0 to 20.'],
          extra: ['Unknown field; allowed: id, type, payload, max_retries, priority, run_at, delay_ms.'],
          other: ['Unknown field; allowed: id, type, payload, max_retries, priority, run_at, delay_ms.'],
        },
      ],
    ];
    for (const [name, body, details] of cases) {
      it(`refuses ${name}`, async () => {
        const reply = await service.post('/jobs', JSON.stringify(body));
        expect(reply.status).to.equal(400);
        expect(reply.body).to.deep.equal(validationFailed(details));
      });
    }

    it('accepts a payload nested exactly 128 levels deep', async () => {
      const payload = JSON.parse('['.repeat(128) + ']'.repeat(128));
      expect((await service.post('/jobs', { payload })).status).to.equal(202);
    });

    it('comes before shutting_down', async () => {
      await service.queue.drain(0);
      const reply = await service.post('/jobs', { max_retries: '3' });
      expect(reply.status).to.equal(400);
      expect(reply.body).to.deep.equal(validationFailed({ max_retries: ['Must be an integer from 0 to 20.'] }));
    });
  });

  describe('503 shutting_down', () => {
    const shuttingDown = {
      error: {
        code: 'shutting_down',
        message: 'The service is shutting down and accepts no new jobs; retry on another instance.',
      },
    };

    it('refuses new jobs once a drain has started', async () => {
      await service.post('/jobs', { id: 'running' });
      void service.queue.drain(60_000);
      const reply = await service.post('/enqueue', { id: 'late' });
      expect(reply.status).to.equal(503);
      expect(reply.body).to.deep.equal(shuttingDown);
    });

    it('comes before the duplicate check, even for an identical resubmit', async () => {
      await service.post('/jobs', { id: 'running' });
      void service.queue.drain(60_000);
      const reply = await service.post('/jobs', { id: 'running' });
      expect(reply.status).to.equal(503);
      expect(reply.body).to.deep.equal(shuttingDown);
    });
  });

  describe('a known id', () => {
    const original = { id: 'dup', payload: { a: 1, b: [1, { c: 2, d: 3 }] } };

    beforeEach(async () => {
      expect((await service.post('/jobs', original)).status).to.equal(202);
    });

    it('answers an identical resubmit with 200 and the existing job, ignoring key order and a default max_retries', async () => {
      const reply = await service.post('/jobs', { max_retries: 3, payload: { b: [1, { d: 3, c: 2 }], a: 1 }, id: 'dup' });
      expect(reply.status).to.equal(200);
      expect(reply.headers.get('location')).to.equal(null);
      expect(reply.body).to.deep.equal(
        view({ id: 'dup', state: 'running', payload: original.payload, attempts: 1, started_at: iso(T0) }),
      );
    });

    it('counts an identical resubmit nowhere', async () => {
      await service.post('/enqueue', original);
      expect((await service.queue.stats()).totals).to.deep.equal({
        submitted: 1, done: 0, failed: 0, cancelled: 0, retries: 0, manual_retries: 0, rejected: 0,
      });
    });

    it('compares a missing payload as null', async () => {
      await service.post('/jobs', { id: 'nil', max_retries: 3 });
      const reply = await service.post('/jobs', { id: 'nil', payload: null });
      expect(reply.status).to.equal(200);
    });

    const existing = view({ id: 'dup', state: 'running', payload: original.payload, attempts: 1, started_at: iso(T0) });
    const conflict = {
      error: {
        code: 'duplicate_job',
        message: 'A job with id "dup" already exists with a different type, payload, max_retries or priority.',
        details: existing,
      },
    };
    for (const [name, body] of [
      ['a different payload', { id: 'dup', payload: { a: 1, b: [{ c: 2, d: 3 }, 1] } }],
      ['a missing payload', { id: 'dup' }],
      ['a different max_retries', { ...original, max_retries: 4 }],
      ['a different priority', { ...original, priority: 1 }],
    ] as const) {
      it(`answers ${name} with 409 duplicate_job and the existing job as details`, async () => {
        const reply = await service.post('/jobs', body);
        expect(reply.status).to.equal(409);
        expect(reply.body).to.deep.equal(conflict);
      });
    }
  });

  describe('429 queue_full', () => {
    const full = {
      error: {
        code: 'queue_full',
        message: 'The queue is full (3 unfinished jobs); retry in about 4 s.',
        details: { capacity: 3, retry_after_seconds: 4 },
      },
    };

    beforeEach(async () => {
      for (const id of ['a', 'b', 'c']) expect((await service.post('/jobs', { id })).status).to.equal(202);
    });

    it('refuses a new job with Retry-After, estimated from the work time before any job has finished', async () => {
      const reply = await service.post('/jobs', { id: 'd' });
      expect(reply.status).to.equal(429);
      expect(reply.headers.get('retry-after')).to.equal('4');
      expect(reply.body).to.deep.equal(full);
      expect((await service.queue.stats()).totals.rejected).to.equal(1);
    });

    it('still answers an identical resubmit with 200', async () => {
      const reply = await service.post('/jobs', { id: 'c', max_retries: 3, payload: null });
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.equal(view({ id: 'c' }));
    });

    it('still answers a different resubmit with 409', async () => {
      const reply = await service.post('/jobs', { id: 'c', payload: 1 });
      expect(reply.status).to.equal(409);
      expect(reply.body).to.have.nested.property('error.code', 'duplicate_job');
    });

    it('admits again once a job has finished', async () => {
      service.work.succeed('a');
      await service.reach('a', 'done');
      expect((await service.post('/jobs', { id: 'd' })).status).to.equal(202);
    });
  });

  describe('429 queue_full with a fractional estimate', () => {
    // Two finishes `gapMs` apart, the refusal at the second: gapMs / 1000 s per finish, rounded up.
    for (const [gapMs, seconds] of [[2500, 3], [2200, 3]] as const) {
      it(`answers finishes ${gapMs / 1000} s apart with Retry-After ${seconds}, in the header and the details`, async () => {
        for (const id of ['a', 'b', 'c']) expect((await service.post('/jobs', { id })).status).to.equal(202);
        for (const id of ['a', 'b']) {
          await service.reach(id, 'running'); // b is claimed once a is done
          service.clock.advance(gapMs);
          service.work.succeed(id);
          await service.reach(id, 'done');
        }
        for (const id of ['d', 'e']) expect((await service.post('/jobs', { id })).status).to.equal(202);
        const reply = await service.post('/jobs', { id: 'f' });
        expect(reply.status).to.equal(429);
        expect(reply.headers.get('retry-after')).to.equal(String(seconds));
        expect(reply.body).to.deep.equal({
          error: {
            code: 'queue_full',
            message: `The queue is full (3 unfinished jobs); retry in about ${seconds} s.`,
            details: { capacity: 3, retry_after_seconds: seconds },
          },
        });
      });
    }
  });
});
