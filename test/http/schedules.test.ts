import { expect } from 'chai';
import { startService, type Service } from './support.js';

const validationFailed = (details: Record<string, string[]>) => ({
  error: { code: 'validation_failed', message: 'The request does not match the expected shape; see details.', details },
});

/** The view of a schedule `0 9 * * *` in Europe/Berlin put at T0 (2026-01-02T03:04:05.006Z), with the defaults. */
const morning = (fields: Record<string, unknown> = {}) => ({
  name: 'morning',
  state: 'active',
  cron: '0 9 * * *',
  timezone: 'Europe/Berlin',
  type: null,
  payload: { report: 'daily' },
  max_retries: null,
  priority: 0,
  overlap: 'skip',
  catch_up: 'latest',
  next_fire_times: ['02', '03', '04', '05', '06'].map((day) => `2026-01-${day}T08:00:00.000Z`),
  last_fire_at: null,
  last_job_id: null,
  ...fields,
});

describe('/schedules', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService();
  });
  afterEach(() => service.stop());

  const put = (name: string, body: unknown) => service.request('PUT', `/schedules/${name}`, {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

  it('PUT creates (201), then replaces (200); GET shows one and all, with the next fire times', async () => {
    const created = await put('morning', { cron: '0 9 * * *', timezone: 'Europe/Berlin', payload: { report: 'daily' } });
    expect([created.status, created.body]).to.deep.equal([201, morning()]);
    const replaced = await put('morning', { cron: '0 9 * * *', timezone: 'Europe/Berlin', payload: { report: 'daily' }, priority: 3, overlap: 'allow' });
    expect([replaced.status, replaced.body]).to.deep.equal([200, morning({ priority: 3, overlap: 'allow' })]);
    expect((await service.get('/schedules/morning')).body).to.deep.equal(morning({ priority: 3, overlap: 'allow' }));
    expect((await service.get('/schedules')).body).to.deep.equal({ schedules: [morning({ priority: 3, overlap: 'allow' })] });
  });

  it('pauses and resumes; DELETE is 204 and then 404', async () => {
    await put('morning', { cron: '0 9 * * *', timezone: 'Europe/Berlin', payload: { report: 'daily' } });
    const paused = await service.post('/schedules/morning/pause', undefined);
    expect([paused.status, paused.body]).to.deep.equal([200, morning({ state: 'paused', next_fire_times: [] })]);
    const resumed = await service.post('/schedules/morning/resume', undefined);
    expect([resumed.status, resumed.body]).to.deep.equal([200, morning()]);
    expect((await service.request('DELETE', '/schedules/morning')).status).to.equal(204);
    const gone = await service.get('/schedules/morning');
    expect([gone.status, gone.body]).to.deep.equal([
      404, { error: { code: 'not_found', message: 'No schedule "morning"; GET /schedules lists them.' } },
    ]);
  });

  for (const [name, body, details] of [
    ['an invalid cron expression', { cron: '* * *' }, {
      cron: ['Must be a cron expression of 5 fields (minute hour day month weekday) or 6 (with seconds first).'],
    }],
    ['an unknown time zone', { cron: '* * * * *', timezone: 'Mars/Base' }, {
      timezone: ['Unknown time zone "Mars/Base"; use an IANA name, e.g. Europe/Berlin.'],
    }],
    ['a bad overlap and catch_up', { cron: '* * * * *', overlap: 'never', catch_up: 'some' }, {
      overlap: ['Must be skip or allow.'], catch_up: ['Must be none, latest or all.'],
    }],
    ['a missing cron', {}, { cron: ['Must be a cron expression (a string).'] }],
    ['bad max_retries and priority, and an unknown field', { cron: '* * * * *', max_retries: 21, priority: 1.5, every: 1 }, {
      max_retries: ['Must be an integer from 0 to 20.'],
      priority: ['Must be an integer from -100 to 100.'],
      every: ['Unknown field; allowed: cron, timezone, type, payload, max_retries, priority, overlap, catch_up.'],
    }],
  ] as const) {
    it(`PUT is 400 validation_failed naming the field for ${name}`, async () => {
      const reply = await put('bad', body);
      expect([reply.status, reply.body]).to.deep.equal([400, validationFailed(details as unknown as Record<string, string[]>)]);
      expect((await service.get('/schedules')).body).to.deep.equal({ schedules: [] });
    });
  }

  it('PUT is 400 for a name a job id could not carry', async () => {
    const reply = await put('Bad%20Name', { cron: '* * * * *' });
    expect([reply.status, reply.body]).to.deep.equal([400, validationFailed({
      name: ['Must be 1–64 characters: a–z, 0–9, ".", "_" or "-", starting with a letter or digit.'],
    })]);
  });

  it('serves the schedule chart at /machines/schedule.mmd', async () => {
    const reply = await service.get('/machines/schedule.mmd');
    expect(reply.text.split('\n').slice(0, 2)).to.deep.equal(['stateDiagram-v2', '  [*] --> active']);
    expect(reply.text).to.include('active --> paused : PAUSE');
  });
});
