import { expect } from 'chai';
import { createJobQueue } from '../../src/engine/job-queue.js';
import type { ServiceError } from '../../src/errors.js';
import { rejection } from '../helpers/queue.js';

/** The operator's hold on dispatch, on the facade: admitted jobs wait, a resume or a drain lets them run. */
describe('dispatch pause', () => {
  const backoff = { baseMs: 1, maxMs: 1, jitterMs: 0 };
  const newQueue = () =>
    createJobQueue({ workers: 2, queueSize: 5, backoff, jobTimeoutMs: 0, jobRetention: 100 }, { processor: async () => 'ok' });

  it('admits while held, starts nothing, and starts the waiting jobs on resume', async () => {
    const queue = newQueue();
    queue.pauseDispatch();
    expect([queue.dispatchPaused(), queue.lifecycle()]).to.deep.equal([true, 'accepting']);
    await queue.submit({ id: 'a', payload: null });
    await queue.submit({ id: 'b', payload: null });
    await new Promise((resolve) => setImmediate(resolve));
    expect([(await queue.get('a'))?.state, (await queue.get('b'))?.state]).to.deep.equal(['queued', 'queued']);
    queue.resumeDispatch();
    expect(queue.dispatchPaused()).to.equal(false);
    const { unfinished } = await queue.drain(5000);
    expect([unfinished, (await queue.get('a'))?.state, (await queue.get('b'))?.state]).to.deep.equal([[], 'done', 'done']);
  });

  it('refuses a hold once a shutdown began, with shutting_down as POST /admin/pause answers, and holds nothing', async () => {
    for (const shutdown of ['pause', 'drain'] as const) {
      const queue = newQueue();
      const drained = shutdown === 'drain' ? queue.drain(5000) : (queue.pause(), undefined);
      const refused = await rejection<ServiceError>(queue.pauseDispatch());
      expect([shutdown, refused.code, refused.message, queue.dispatchPaused()]).to.deep.equal([
        shutdown, 'shutting_down', 'The service is shutting down and accepts no new jobs; retry on another instance.', false,
      ]);
      await drained;
    }
  });

  it('lets go of the hold when a drain begins, so that the waiting jobs run to an end', async () => {
    const queue = newQueue();
    queue.pauseDispatch();
    await queue.submit({ id: 'a', payload: null });
    const { unfinished } = await queue.drain(5000);
    expect([unfinished, (await queue.get('a'))?.state, queue.dispatchPaused()]).to.deep.equal([[], 'done', false]);
  });
});
