import { expect } from 'chai';
import sinon from 'sinon';
import { createTurnBudget, nextTurn } from '../../src/engine/turn-budget.js';
import { STARTS_PER_TURN } from '../../src/engine/job-queue.js';
import { manualProcessor } from '../helpers/processors.js';
import { makeQueue } from '../helpers/queue.js';

/**
 * One turn of the real event loop: resolves in the check phase after the immediates queued before it. Not a
 * sleep: the fake clock holds the time still (sinon's own setImmediate would not model Node's phases).
 */
const oneTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('turn budget', () => {
  beforeEach(() => {
    sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => sinon.restore());

  it('grants up to its allowance in a turn, and the whole allowance again at the next', async () => {
    const budget = createTurnBudget(5);
    expect([budget.take(3), budget.take(3), budget.take(1)]).to.deep.equal([3, 2, 0]);
    await oneTurn();
    expect([budget.take(7), budget.take(1)]).to.deep.equal([5, 0]);
  });

  it('has work deferred in a spent turn find the allowance whole', async () => {
    const budget = createTurnBudget(2);
    const granted: number[] = [];
    expect(budget.take(2)).to.equal(2);
    nextTurn(() => granted.push(budget.take(3)));
    await oneTurn();
    expect(granted).to.deep.equal([2]);
  });

  it('bounds the jobs a queue starts per turn to STARTS_PER_TURN, the rest one turn later each, in order', async () => {
    const work = manualProcessor();
    const workers = 2 * STARTS_PER_TURN + 4;
    const { queue, unhandled } = makeQueue(work.processor, { workers, queueSize: 0 });
    const ids = Array.from({ length: workers }, (_, i) => `job-${i}`);
    const started = () => work.calls.map(({ job }) => job.id);
    for (const id of ids) await queue.submit({ id, payload: null, max_retries: 0 });
    expect(started()).to.deep.equal(ids.slice(0, STARTS_PER_TURN));
    await oneTurn();
    expect(started()).to.deep.equal(ids.slice(0, 2 * STARTS_PER_TURN));
    await oneTurn();
    expect(started()).to.deep.equal(ids);
    expect((await queue.stats()).states).to.deep.include({ queued: 0, running: workers });
    expect(unhandled).to.deep.equal([]);
  });
});
