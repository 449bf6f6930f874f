import { expect } from 'chai';
import { iso, startService, T0, view, type Service } from './support.js';

const validationFailed = (details: Readonly<Record<string, readonly string[]>>) => ({
  error: { code: 'validation_failed', message: 'The request does not match the expected shape; see details.', details },
});

describe('POST /jobs for later, and with a priority', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService({ config: { workers: 1, queueSize: 0, scheduledLimit: 1, maxDelayMs: 3_600_000 } });
  });
  afterEach(() => service.stop());

  it('answers 202 scheduled for a delay_ms, and shows the job scheduled with its next_run_at', async () => {
    const reply = await service.post('/jobs', { id: 'later', payload: { n: 1 }, delay_ms: 60_000, priority: 7 });
    expect([reply.status, reply.body, reply.headers.get('location')]).to.deep.equal([
      202, { status: 'scheduled', id: 'later' }, '/jobs/later',
    ]);
    expect((await service.get('/jobs/later')).body).to.deep.equal(
      view({ id: 'later', state: 'scheduled', payload: { n: 1 }, priority: 7, next_run_at: iso(T0 + 60_000) }),
    );
    const history = (await service.get('/jobs/later/history')).body as { transitions: { from: unknown; to: unknown }[] };
    expect(history.transitions.map(({ from, to }) => [from, to])).to.deep.equal([[null, 'scheduled']]);
  });

  it('takes run_at with any offset as that instant, and one in the past as now', async () => {
    const inAnHour = new Date(T0 + 3_600_000).toISOString().replace('Z', '+00:00');
    const asBerlin = '2026-01-02T05:04:05.006+01:00'; // T0 + 1 h, written in UTC+1
    expect((await service.post('/jobs', { id: 'a', run_at: asBerlin })).body).to.deep.equal({ status: 'scheduled', id: 'a' });
    expect((await service.get('/jobs/a')).body).to.include({ next_run_at: iso(T0 + 3_600_000) });
    expect(inAnHour).to.equal('2026-01-02T04:04:05.006+00:00');
    const past = await service.post('/jobs', { id: 'p', run_at: '2020-01-01T00:00:00Z' });
    expect([past.status, past.body]).to.deep.equal([202, { status: 'queued', id: 'p' }]);
  });

  it('is 429 scheduled_full beyond SCHEDULED_LIMIT', async () => {
    await service.post('/jobs', { id: 'a', delay_ms: 1000 });
    const reply = await service.post('/jobs', { id: 'b', delay_ms: 1000 });
    expect([reply.status, reply.headers.get('retry-after'), reply.body]).to.deep.equal([
      429,
      '1',
      {
        error: {
          code: 'scheduled_full',
          message:
            '1 jobs are scheduled for later already (SCHEDULED_LIMIT); submit this one when more have come due ' +
            '(the next in about 1 s), or without run_at and delay_ms to run it now.',
          details: { scheduled_limit: 1, retry_after_seconds: 1 },
        },
      },
    ]);
    const metrics = (await service.get('/metrics')).text.split('\n');
    expect(metrics).to.include('jobsvc_jobs_rejected_total{reason="scheduled_full"} 1');
    expect((await service.queue.stats()).totals.rejected).to.equal(1);
  });

  for (const [name, body, details] of [
    ['both run_at and delay_ms', { run_at: '2030-01-01T00:00:00Z', delay_ms: 5 }, {
      run_at: ['Give run_at or delay_ms, not both.'], delay_ms: ['Give run_at or delay_ms, not both.'],
    }],
    ['a delay beyond MAX_DELAY_MS', { delay_ms: 3_600_001 }, {
      delay_ms: ['Must be at most 3600000 ms (MAX_DELAY_MS) from now; schedule it later, or raise MAX_DELAY_MS.'],
    }],
    ['a run_at without an offset', { run_at: '2030-01-01T00:00:00' }, {
      run_at: ['Must be an ISO-8601 date and time with an offset, e.g. 2026-12-24T09:00:00+01:00.'],
    }],
    ['a negative delay_ms', { delay_ms: -1 }, { delay_ms: ['Must be an integer number of milliseconds, 0 or more.'] }],
    ['a priority out of range', { priority: 101 }, { priority: ['Must be an integer from -100 to 100.'] }],
    ['a fractional priority', { priority: 1.5 }, { priority: ['Must be an integer from -100 to 100.'] }],
  ] as const) {
    it(`is 400 validation_failed naming the field for ${name}`, async () => {
      const reply = await service.post('/jobs', { id: 'x', ...body });
      expect([reply.status, reply.body]).to.deep.equal([400, validationFailed(details)]);
      expect((await service.get('/jobs/x')).status).to.equal(404);
    });
  }
});
