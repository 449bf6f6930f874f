import { expect } from 'chai';
import sinon from 'sinon';
import { manualProcessor } from '../helpers/processors.js';
import { makeQueue } from '../helpers/queue.js';
import { createMetrics } from '../../src/metrics.js';

describe('job queue: priorities', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => sinon.restore());

  it('claims by priority, then due retries, then first in first out, asserted at every claim', async () => {
    const work = manualProcessor();
    const { queue, unhandled } = makeQueue(work.processor, { workers: 1, queueSize: 10 });
    const started = () => work.calls.map((call) => `${call.job.id}#${call.job.attempt}`);
    await queue.submit({ id: 'flaky', payload: null, max_retries: 1 }); // takes the worker
    await queue.submit({ id: 'low', payload: null, priority: -5 });
    await queue.submit({ id: 'mid', payload: null });
    await queue.submit({ id: 'high', payload: null, priority: 10 });
    await queue.submit({ id: 'mid2', payload: null, priority: 0 });
    await clock.tickAsync(0);
    expect(started()).to.deep.equal(['flaky#1']);
    work.latest('flaky').reject(new Error('flaky')); // backoff 150 ms; the worker goes to the highest priority
    await clock.tickAsync(0);
    expect(started()).to.deep.equal(['flaky#1', 'high#1']);
    await clock.tickAsync(200); // flaky's retry is due at 150 and waits in the retry lane of priority 0
    expect((await queue.stats()).waiting).to.deep.equal([
      { priority: 0, oldest_wait_ms: 200 }, // mid, waiting since 0
      { priority: -5, oldest_wait_ms: 200 },
    ]);
    const next = async (_finishing: string) => {
      work.calls.at(-1)!.resolve();
      await clock.tickAsync(0);
      return started().at(-1);
    };
    expect(await next('high')).to.equal('flaky#2'); // a due retry before the new jobs of its priority
    expect(await next('flaky')).to.equal('mid#1');
    expect(await next('mid')).to.equal('mid2#1');
    await queue.submit({ id: 'urgent', payload: null, priority: 100 }); // arrives while low waits
    expect(await next('mid2')).to.equal('urgent#1');
    expect(await next('urgent')).to.equal('low#1');
    expect((await queue.stats()).waiting).to.deep.equal([]);
    expect(unhandled).to.deep.equal([]);
  });

  it('exports the oldest wait per priority as jobsvc_jobs_oldest_waiting_seconds', async () => {
    const { queue } = makeQueue(manualProcessor().processor, { workers: 1, queueSize: 10 });
    const metrics = createMetrics(queue);
    await queue.submit({ id: 'busy', payload: null });
    await queue.submit({ id: 'a', payload: null, priority: 3 });
    await clock.tickAsync(2500);
    await queue.submit({ id: 'b', payload: null, priority: -1 });
    await clock.tickAsync(500);
    const text = await metrics.registry.metrics();
    const lines = text.split('\n').filter((line) => line.startsWith('jobsvc_jobs_oldest_waiting_seconds'));
    expect(lines).to.deep.equal(['jobsvc_jobs_oldest_waiting_seconds{priority="3"} 3', 'jobsvc_jobs_oldest_waiting_seconds{priority="-1"} 0.5']);
  });
});
