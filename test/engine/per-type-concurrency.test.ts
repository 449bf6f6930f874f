import { expect } from 'chai';
import sinon from 'sinon';
import { createJobQueue } from '../../src/engine/job-queue.js';
import type { Transition } from '../../src/engine/job-record.js';
import type { JobTypeDefinition } from '../../src/job-types/job-type.js';
import { createJobTypes } from '../../src/job-types/registry.js';
import type { Processor } from '../../src/processors/processor.js';
import { ReadyCounts } from '../../src/engine/ready-counts.js';
import { manualProcessor, seededRandom } from '../helpers/processors.js';
import { states } from '../helpers/queue.js';

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

/**
 * The instants (ms) at whose end fewer than `workers` jobs ran while a queued job could have started, its
 * type under its limit: replayed from the transitions.
 */
function idleWhileStartable(transitions: Transition[], limits: Record<string, number>, workers: number): number[] {
  const running = new Map<string, number>();
  const queued = new Map<string, number>();
  const add = (counts: Map<string, number>, type: string, n: number) => counts.set(type, (counts.get(type) ?? 0) + n);
  const idle: number[] = [];
  const check = (at: number) => {
    const total = [...running.values()].reduce((sum, n) => sum + n, 0);
    let startable = 0;
    for (const [type, n] of queued) startable += Math.min(n, (limits[type] ?? Infinity) - (running.get(type) ?? 0));
    if (total < workers && startable > 0) idle.push(at);
  };
  transitions.forEach((t, index) => {
    if (t.to === 'queued') add(queued, t.type, 1);
    if (t.from === 'queued') add(queued, t.type, -1);
    if (t.to === 'running' && t.from !== 'running') add(running, t.type, 1);
    if (t.from === 'running' && t.to !== 'running') add(running, t.type, -1);
    if (transitions[index + 1]?.at !== t.at) check(t.at);
  });
  return idle;
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
    expect({ a: peaks.a, b: peaks.b, total: peaks.total }).to.deep.equal({ a: 2, b: 1, total: 4 });
    expect(peaks.c).to.be.at.most(4);
    // And no worker idles while a queued job could start: checked once each instant's moves are all made.
    expect(idleWhileStartable(transitions, { a: 2, b: 1 }, 4)).to.deep.equal([]);
    expect((await queue.stats()).states).to.deep.include({ queued: 0, running: 0, backoff: 0 });
    expect((await queue.stats()).states.done + (await queue.stats()).states.failed).to.equal(90);
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
    expect(await states(queue, ['s1', 's2', 's3', 'o1'])).to.deep.equal([
      'running', 'queued', 'queued', 'running',
    ]);
    expect((await queue.stats()).workers).to.deep.equal({ busy: 2, total: 3 });

    slow.latest('s1').resolve();
    await clock.tickAsync(0);
    expect(await states(queue, ['s1', 's2', 's3'])).to.deep.equal(['done', 'running', 'queued']);
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
    expect(await states(queue, ['x1', 'y1', 'x2'])).to.deep.equal(['done', 'running', 'queued']);
  });
});

describe('ready counts', () => {
  it('counts startable jobs within each limit, and hands a claim the allowances left', () => {
    const ready = new ReadyCounts({ limited: 1 });
    ready.add('limited', 2);
    ready.add('free', 2);

    expect(ready.startable(10)).to.equal(3); // one of the two limited jobs, both free ones
    expect(ready.startable(2)).to.equal(2);
    expect(ready.allowances()).to.deep.equal(new Map([['limited', 1]]));
    ready.started('limited');
    expect([ready.waiting, ready.startable(10), ready.allowances()]).to.deep.equal([3, 2, new Map([['limited', 0]])]);
    ready.release('limited');
    expect([ready.startable(10), ready.allowances()]).to.deep.equal([3, new Map([['limited', 1]])]);
  });

  it('forgets withdrawn jobs, and never counts below zero', () => {
    const ready = new ReadyCounts();
    ready.add('t', 2);
    ready.add('t', -1);
    ready.add('t', -5);
    ready.started('t');
    expect([ready.waiting, ready.startable(5), ready.allowances()]).to.deep.equal([0, 0, undefined]);
  });
});
