import { expect } from 'chai';
import { startService, type Service } from './support.js';

describe('GET /stats', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService({ config: { workers: 2, queueSize: 2 } });
  });
  afterEach(() => service.stop());

  it('reports an idle queue', async () => {
    const reply = await service.get('/stats');
    expect(reply.status).to.equal(200);
    expect(reply.body).to.deep.equal({
      states: { scheduled: 0, queued: 0, running: 0, backoff: 0, done: 0, failed: 0, cancelled: 0 },
      types: {},
      workers: { busy: 0, total: 2 },
      waiting: [],
      queue: { used: 0, capacity: 4 },
      totals: { submitted: 0, done: 0, failed: 0, cancelled: 0, retries: 0, manual_retries: 0, rejected: 0 },
    });
  });

  it('reports every state, the busy workers and the totals', async () => {
    for (const [id, max_retries] of [['ok', 3], ['bad', 0], ['retry', 3]] as const) {
      await service.post('/jobs', { id, max_retries });
    }
    service.work.succeed('ok');
    await service.reach('ok', 'done');
    service.work.fail('bad', 'no');
    await service.reach('bad', 'failed');
    service.work.fail('retry', 'later');
    await service.reach('retry', 'backoff');
    await service.post('/jobs', { id: 'r1' });
    await service.post('/jobs', { id: 'r2' });
    await service.post('/jobs', { id: 'q' });
    await service.post('/jobs', { id: 'r1' }); // identical resubmit: counted nowhere
    expect((await service.post('/jobs', { id: 'refused' })).status).to.equal(429);
    service.clock.advance(1500); // q has waited this long

    const reply = await service.get('/stats');
    expect(reply.status).to.equal(200);
    expect(reply.body).to.deep.equal({
      states: { scheduled: 0, queued: 1, running: 2, backoff: 1, done: 1, failed: 1, cancelled: 0 },
      types: { simulated: { scheduled: 0, queued: 1, running: 2, backoff: 1, done: 1, failed: 1, cancelled: 0 } },
      workers: { busy: 2, total: 2 },
      waiting: [{ priority: 0, oldest_wait_ms: 1500 }],
      queue: { used: 4, capacity: 4 },
      totals: { submitted: 6, done: 1, failed: 1, cancelled: 0, retries: 0, manual_retries: 0, rejected: 1 },
    });
    expect(reply.body).to.deep.equal(await service.queue.stats());
  });
});
