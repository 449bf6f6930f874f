import { expect } from 'chai';
import sinon from 'sinon';
import { createJobQueue } from '../../src/engine/job-queue.js';
import type { Transition } from '../../src/engine/job-record.js';
import type { JobTypeDefinition } from '../../src/job-types/job-type.js';
import { createJobTypes } from '../../src/job-types/registry.js';
import type { Processor } from '../../src/processors/processor.js';
import { ReadyQueue } from '../../src/engine/ready-queue.js';
import { manualProcessor, seededRandom } from '../helpers/processors.js';

const backoff = { baseMs: 100, maxMs: 1000, jitterMs: 0 };

function typesOf(definitions: Array<Pick<JobTypeDefinition, 'name' | 'options' | 'processor'>>) {
  return createJobTypes(
    definitions.map((d) => ({ ...d, kind: 'module' as const, source: `${d.name}.ts` })),
    { defaultType: definitions[0]!.name, maxRetries: 3, maxRetriesLimit: 20, timeoutMs: 0, backoff },
  );
}

function queueWith(types: ReturnType<typeof typesOf>, workers: number, queueSize = 1000) {
  const unhandled: unknown[] = [];
  const queue = createJobQueue(
    { workers, queueSize, backoff, jobTimeoutMs: 0, jobRetention: 10_000 },
    { types, now: () => Date.now(), random: () => 0.5, onError: (error) => unhandled.push(error) },
  );
  const transitions: Transition[] = [];
  queue.on('transition', (t) => transitions.push(t));
  return { queue, transitions, unhandled };
}

/** Running jobs per type after each transition, replayed from the transitions themselves. */
function runningAfterEach(transitions: Transition[]) {
  const running: Record<string, number> = {};
  return transitions.map((t) => {
    if (t.to === 'running' && t.from !== 'running') running[t.type] = (running[t.type] ?? 0) + 1;
    if (t.from === 'running' && t.to !== 'running') running[t.type]! -= 1;
    const total = Object.values(running).reduce((sum, n) => sum + n, 0);
    return { ...running, total };
  });
}

describe('per-type concurrency', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] });
  });
  afterEach(() => sinon.restore());

  it('holds every type at its concurrency and all of them at WORKERS, at every transition of a seeded mixed run', async () => {
    const random = seededRandom(42);
    // Work of 10–200 ms; one attempt in five fails, so retries and their lane take part too.
    const work: Processor = () =>
      new Promise((resolve, reject) => {
        const fails = random() < 0.2;
        setTimeout(() => (fails ? reject(new Error('flaky')) : resolve(undefined)), 10 + Math.floor(random() * 190));
      });
    const types = typesOf([
      { name: 'a', options: { concurrency: 2 }, processor: work },
      { name: 'b', options: { concurrency: 1 }, processor: work },
      { name: 'c', options: {}, processor: work },
    ]);
    const { queue, transitions, unhandled } = queueWith(types, 4);
    const names = ['a', 'b', 'c'];
    for (let i = 0; i < 90; i++) await queue.submit({ type: names[Math.floor(random() * 3)]!, payload: i });

    await clock.tickAsync(60_000);

    const peaks = runningAfterEach(transitions).reduce<Record<string, number>>((max, now) => {
      for (const [key, n] of Object.entries(now)) max[key] = Math.max(max[key] ?? 0, n);
      return max;
    }, {});
    // Each limit is reached (so it is tested) and never passed.
    expect(peaks).to.deep.equal({ a: 2, b: 1, c: 4, total: 4 });
    expect(queue.stats().states).to.deep.include({ queued: 0, running: 0, backoff: 0 });
    expect(queue.stats().states.done + queue.stats().states.failed).to.equal(90);
    expect(unhandled).to.deep.equal([]);
  });

  it('never lets a type at its limit hold back a ready job of another type', async () => {
    const slow = manualProcessor();
    const other = manualProcessor();
    const types = typesOf([
      { name: 'slow', options: { concurrency: 1 }, processor: slow.processor },
      { name: 'other', options: {}, processor: other.processor },
    ]);
    const { queue } = queueWith(types, 3);
    await queue.submit({ id: 's1', type: 'slow', payload: null });
    await queue.submit({ id: 's2', type: 'slow', payload: null });
    await queue.submit({ id: 's3', type: 'slow', payload: null });
    await queue.submit({ id: 'o1', type: 'other', payload: null });
    await clock.tickAsync(0);

    // s2 and s3 came first but wait for s1; o1 took a free worker at once.
    expect(['s1', 's2', 's3', 'o1'].map((id) => queue.get(id)!.state)).to.deep.equal([
      'running', 'queued', 'queued', 'running',
    ]);
    expect(queue.stats().workers).to.deep.equal({ busy: 2, total: 3 });

    slow.latest('s1').resolve();
    await clock.tickAsync(0);
    expect(['s1', 's2', 's3'].map((id) => queue.get(id)!.state)).to.deep.equal(['done', 'running', 'queued']);
  });

  it('gives a slot to the next type in arrival order when a limited type frees one', async () => {
    const work = manualProcessor();
    const types = typesOf([
      { name: 'x', options: { concurrency: 1 }, processor: work.processor },
      { name: 'y', options: {}, processor: work.processor },
    ]);
    const { queue } = queueWith(types, 1);
    await queue.submit({ id: 'x1', type: 'x', payload: null });
    await queue.submit({ id: 'y1', type: 'y', payload: null });
    await queue.submit({ id: 'x2', type: 'x', payload: null });
    await clock.tickAsync(0);

    work.latest('x1').resolve();
    await clock.tickAsync(0);
    // One worker: y1 arrived before x2, so it goes first.
    expect(['x1', 'y1', 'x2'].map((id) => queue.get(id)!.state)).to.deep.equal(['done', 'running', 'queued']);
  });
});

describe('ready queue', () => {
  it('hands out due retries first, then FIFO across types, skipping a type at its limit', () => {
    const ready = new ReadyQueue<string>({ limited: 1 });
    ready.push('l1', 'limited');
    ready.push('u1', 'free');
    ready.push('l2', 'limited');
    ready.push('r1', 'free', true);

    expect(ready.startable(10)).to.equal(3); // l1 or l2 (one of them), u1, r1
    expect([ready.take(), ready.take(), ready.take(), ready.take()]).to.deep.equal(['r1', 'l1', 'u1', undefined]);
    expect(ready.length).to.equal(1);
    ready.release('limited');
    expect(ready.take()).to.equal('l2');
    // l2 holds the limited type's one slot again: a third waits, however many slots are free.
    ready.push('l3', 'limited');
    expect([ready.startable(10), ready.take()]).to.deep.equal([0, undefined]);
  });

  it('forgets a withdrawn job, in either lane', () => {
    const ready = new ReadyQueue<string>();
    ready.push('a', 't');
    ready.push('b', 't', true);
    ready.delete('b', 't');
    ready.delete('a', 't');
    expect([ready.length, ready.startable(5), ready.take()]).to.deep.equal([0, 0, undefined]);
  });
});
