import { expect } from 'chai';
import sinon from 'sinon';
import { createThroughputSeries, SAMPLE_EVERY_MS, SERIES_SECONDS } from '../../src/console/throughput-series.js';
import type { JobQueue } from '../../src/engine/job-queue.types.js';
import type { Transition } from '../../src/engine/job-record.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { makeQueue } from '../helpers/queue.js';
import { manualProcessor } from '../helpers/processors.js';

/** A queue that only emits transitions and answers with the levels the test sets. */
function fakeQueue() {
  const listeners: ((t: Transition) => void)[] = [];
  const levels = { queued: 0, busy: 0 };
  const queue = {
    on: (_event: string, listener: (t: Transition) => void) => (listeners.push(listener), () => {}),
    levels: async () => ({ ...levels }),
  } as unknown as JobQueue;
  const emit = (from: Transition['from'], to: Transition['to']) =>
    listeners.forEach((listener) => listener({ from, to } as Transition));
  return { queue, levels, emit };
}

describe('throughput series', () => {
  let clock: sinon.SinonFakeTimers;
  const START = 1_800_000_000_000; // a whole second
  beforeEach(() => (clock = sinon.useFakeTimers({ now: START, toFake: ['setTimeout', 'clearTimeout', 'Date'] })));
  afterEach(() => clock.restore());

  it('counts per second, samples the levels after transitions and carries them through quiet seconds', async () => {
    const { queue, levels, emit } = fakeQueue();
    const series = createThroughputSeries(queue);
    await clock.tickAsync(SAMPLE_EVERY_MS); // the first sample: all zero
    levels.queued = 2;
    levels.busy = 1;
    emit(null, 'queued');
    emit(null, 'queued');
    emit('queued', 'running');
    await clock.tickAsync(1000);
    emit('running', 'done');
    emit('running', 'failed');
    levels.queued = 1;
    await clock.tickAsync(2000);
    expect(series.snapshot()).to.deep.equal({
      interval_ms: 1000,
      seconds: [0, 1, 2, 3].map((n) => START / 1000 + n),
      submitted: [2, 0, 0, 0],
      done: [0, 1, 0, 0],
      failed: [0, 1, 0, 0],
      queue_depth: [2, 1, 1, 1],
      busy_workers: [1, 1, 1, 1],
    });
    series.stop();
  });

  it("samples a real queue's levels without its stats (no per-type counts, no oldest waiting)", async () => {
    const store = createMemoryStore({ retention: 100 });
    const expensive = [sinon.spy(store, 'countsByType'), sinon.spy(store, 'oldestWaiting')];
    const { processor } = manualProcessor();
    const { queue, unhandled } = makeQueue(processor, { workers: 1, queueSize: 5 }, undefined, store);
    const stats = sinon.spy(queue, 'stats');
    const series = createThroughputSeries(queue);
    for (const id of ['a', 'b', 'c']) await queue.submit({ id, payload: null });
    await clock.tickAsync(2000);
    const { queue_depth, busy_workers } = series.snapshot();
    expect({ queue_depth, busy_workers }).to.deep.equal({ queue_depth: [2, 2, 2], busy_workers: [1, 1, 1] });
    expect([stats.callCount, ...expensive.map((spy) => spy.callCount)]).to.deep.equal([0, 0, 0]);
    expect(unhandled).to.deep.equal([]);
    series.stop();
  });

  it('keeps the last 15 minutes only', async () => {
    const { queue, emit } = fakeQueue();
    const series = createThroughputSeries(queue);
    emit(null, 'queued');
    await clock.tickAsync(SERIES_SECONDS * 1000);
    emit(null, 'queued');
    const snapshot = series.snapshot();
    expect(snapshot.seconds.length).to.equal(SERIES_SECONDS);
    expect([snapshot.seconds[0], snapshot.submitted[0], snapshot.submitted.at(-1)]).to.deep.equal([START / 1000 + 1, 0, 1]);
    expect(snapshot.queue_depth[0]).to.equal(0);
    series.stop();
  });
});
