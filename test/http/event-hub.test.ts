import { expect } from 'chai';
import type { Transition } from '../../src/engine/job-record.js';
import type { JobQueue, JobQueueEventMap } from '../../src/engine/job-queue.types.js';
import { createEventHub, type StreamSink } from '../../src/http/event-hub.js';

/** A client whose socket takes nothing: every byte written stays unsent. */
function stalledSink(unsent = 0) {
  const sink = {
    writableLength: unsent,
    written: 0,
    destroyed: false,
    write(chunk: Buffer) {
      sink.writableLength += chunk.length;
      sink.written += chunk.length;
    },
    end() {},
    destroy() {
      sink.destroyed = true;
    },
  };
  return sink satisfies StreamSink;
}

function fakeQueue() {
  const listeners = new Set<(t: Transition) => void>();
  const queue: Pick<JobQueue, 'on'> = {
    on: ((event: keyof JobQueueEventMap, listener: (t: Transition) => void) => {
      if (event !== 'transition') return () => {};
      listeners.add(listener);
      return () => listeners.delete(listener);
    }) as JobQueue['on'],
  };
  return { queue, listeners, emit: (t: Transition) => listeners.forEach((listener) => listener(t)) };
}

const transition = (error: string): Transition => ({
  id: 'x', type: 'simulated', from: 'queued', to: 'running', event: 'DISPATCH', at: 0, attempt: 1, error,
  delay_ms: null, delay_source: null,
});

describe('event hub', () => {
  it('cuts the clients with the most unsent bytes first once all of them together pass the global bound', () => {
    const { queue, emit } = fakeQueue();
    const hub = createEventHub(queue, { maxStreams: 10, maxBufferBytes: 100_000, maxTotalBufferBytes: 10_000 });
    const slowest = stalledSink(5_000);
    const slow = stalledSink(3_000);
    const fast = stalledSink(0);
    for (const sink of [fast, slow, slowest]) hub.add(sink, {});
    // Each write adds about 1.2 KB to every client: 8 000 + 3 × 1.2 KB passes 10 000.
    emit(transition('e'.repeat(1000)));
    expect([slowest.destroyed, slow.destroyed, fast.destroyed]).to.deep.equal([true, false, false]);
    expect(hub.size).to.equal(2);
    hub.closeAll();
  });

  it('cuts one client past its own bound without touching the others, and unsubscribes when the last goes', () => {
    const { queue, emit, listeners } = fakeQueue();
    const hub = createEventHub(queue, { maxStreams: 10, maxBufferBytes: 2_000, maxTotalBufferBytes: 1_000_000 });
    const behind = stalledSink(1_500);
    const keeping = stalledSink(0);
    const forgetKeeping = hub.add(keeping, {});
    hub.add(behind, {});
    emit(transition('e'.repeat(1000)));
    expect([behind.destroyed, behind.written, keeping.destroyed]).to.deep.equal([true, 0, false]);
    expect(listeners.size).to.equal(1);
    forgetKeeping();
    expect(listeners.size).to.equal(0);
  });
});
