import { expect } from 'chai';
import sinon from 'sinon';
import { CLAIM_RETRY_MS } from '../../src/engine/job-queue.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { errors } from '../../src/errors.js';
import { manualProcessor } from '../helpers/processors.js';
import { makeQueue, states } from '../helpers/queue.js';

describe('job queue: the backlog waits in the store', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => sinon.restore());

  it('holds 100,000 queued jobs with no live actor: only the running one has one', async () => {
    const work = manualProcessor();
    const { queue, unhandled } = makeQueue(work.processor, { workers: 1, queueSize: 100_000 });
    const ids = Array.from({ length: 100_001 }, (_, i) => `job-${i}`);
    for (const id of ids) await queue.submit({ id, payload: { id }, max_retries: 0 });
    await clock.tickAsync(0);
    expect(ids.filter((id) => queue.peek(id) !== undefined)).to.deep.equal(['job-0']);
    expect((await queue.stats()).states).to.deep.include({ queued: 100_000, running: 1 });
    // And each of them is still whole, and runs in its turn.
    expect(await queue.get('job-77')).to.include({ state: 'queued', attempts: 0 });
    work.latest('job-0').resolve();
    await clock.tickAsync(0);
    expect(await states(queue, ['job-0', 'job-1', 'job-2'])).to.deep.equal(['done', 'running', 'queued']);
    expect(ids.filter((id) => queue.peek(id) !== undefined)).to.deep.equal(['job-1']);
    expect(unhandled).to.deep.equal([]);
  });

  it('restores the exact context of a claimed job: only the attempt fields change', async () => {
    const work = manualProcessor();
    const { queue } = makeQueue(work.processor, { workers: 1, queueSize: 5 });
    await queue.submit({ id: 'first', payload: null, max_retries: 0 });
    await clock.tickAsync(7);
    await queue.submit({ id: 'waits', type: 'simulated', payload: { deep: { list: [1, 'two', null] } }, max_retries: 3 });
    const waiting = structuredClone(await queue.get('waits'));
    await clock.tickAsync(5);
    work.latest('first').resolve();
    await clock.tickAsync(0);
    const { history, ...running } = (await queue.get('waits'))!;
    const { history: waitingHistory, ...before } = waiting!;
    expect(running).to.deep.equal({ ...before, state: 'running', attempts: 1, started_at: 12, updated_at: 12 });
    expect(history).to.deep.equal([
      ...waitingHistory,
      { id: 'waits', type: 'simulated', from: 'queued', to: 'running', event: 'SLOT_GRANTED', at: 12, attempt: 1, error: null, delay_ms: null, delay_source: null },
    ]);
    expect(work.calls.map(({ job }) => job)).to.deep.equal([
      { id: 'first', type: 'simulated', payload: null, attempt: 1, max_retries: 0 },
      { id: 'waits', type: 'simulated', payload: { deep: { list: [1, 'two', null] } }, attempt: 1, max_retries: 3 },
    ]);
  });

  it('drains a backlog: every waiting job is claimed and runs to its end before the queue stops', async () => {
    const work = manualProcessor();
    const { queue } = makeQueue(work.processor, { workers: 2, queueSize: 50 });
    const ids = Array.from({ length: 40 }, (_, i) => `job-${i}`);
    for (const id of ids) await queue.submit({ id, payload: null, max_retries: 0 });
    const drained = queue.drain(60_000);
    for (const id of ids) {
      await clock.tickAsync(0);
      work.latest(id).resolve();
    }
    await clock.tickAsync(0);
    expect(await drained).to.deep.equal({ unfinished: [] });
    expect(queue.lifecycle()).to.equal('stopped');
    expect((await queue.stats()).states).to.deep.include({ queued: 0, done: 40 });
    expect(work.calls.map(({ job }) => job.id)).to.deep.equal(ids);
  });

  it('asks again after a claim the store could not answer, and the jobs it counted still start', async () => {
    const store = createMemoryStore({ retention: 100 });
    let failures = 1;
    const claim = store.claim.bind(store);
    store.claim = (request) => (failures-- > 0 ? Promise.reject(errors.storageUnavailable('disk full')) : claim(request));
    const work = manualProcessor();
    const { queue, unhandled } = makeQueue(work.processor, { workers: 2, queueSize: 5 }, () => 0.5, store);
    await queue.submit({ id: 'a', payload: null, max_retries: 0 });
    await clock.tickAsync(0);
    expect(await states(queue, ['a'])).to.deep.equal(['queued']);
    expect((await queue.stats()).workers.busy).to.equal(0);
    await clock.tickAsync(CLAIM_RETRY_MS);
    expect(await states(queue, ['a'])).to.deep.equal(['running']);
    expect((await queue.stats()).workers.busy).to.equal(1);
    expect(unhandled).to.deep.equal([]);
  });
});
