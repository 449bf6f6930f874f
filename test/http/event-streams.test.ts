/**
 * `GET /events` under load: the cap on open streams, `HEAD /events`, and one serialisation of each transition
 * for every client. The global buffer bound is tested on the hub itself (test/http/event-hub.test.ts).
 */
import { expect } from 'chai';
import sinon from 'sinon';
import type { Transition } from '../../src/engine/job-record.js';
import { openEventStream, startService, T0, testConfig, type Service } from './support.js';

const transition: Transition = {
  id: 'x', type: 'simulated', from: 'queued', to: 'running', event: 'DISPATCH', at: T0, attempt: 1, error: null,
  delay_ms: null, delay_source: null,
};

describe('GET /events under load', () => {
  let service: Service;
  afterEach(async () => {
    sinon.restore();
    await service?.stop();
  });

  it('refuses the stream past MAX_EVENT_STREAMS with 503 too_many_streams, and admits one again once a stream closes', async () => {
    service = await startService({ config: { http: { ...testConfig().http, maxEventStreams: 2 } } });
    const first = await openEventStream(service.url('/events'));
    const second = await openEventStream(service.url('/events'));
    await first.until((text) => text.length > 0);
    await second.until((text) => text.length > 0);

    const refused = await service.get('/events');
    expect(refused.status).to.equal(503);
    expect(refused.headers.get('retry-after')).to.equal('5');
    expect(refused.body).to.deep.equal({
      error: {
        code: 'too_many_streams',
        message: 'Too many event streams are open (the limit, MAX_EVENT_STREAMS, is 2); retry in a few seconds.',
        details: { max_streams: 2 },
      },
    });

    first.close();
    // The server sees the close a moment later; a new stream is admitted from then on.
    let third = await openEventStream(service.url('/events'));
    while (third.response.status === 503) third = await openEventStream(service.url('/events'));
    expect(third.response.status).to.equal(200);
    second.close();
    third.close();
  });

  it('answers HEAD /events with the stream headers and no body, and ends the response', async () => {
    service = await startService();
    const response = await fetch(service.url('/events'), { method: 'HEAD', signal: AbortSignal.timeout(2000) });
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.equal('text/event-stream; charset=utf-8');
    expect(await response.text()).to.equal('');
  });

  it('serialises a transition once, whatever the number of clients, and sends each the same bytes', async () => {
    const listeners: ((t: Transition) => void)[] = [];
    service = await startService({
      wrapQueue: (queue) => ({
        ...queue,
        on: (event, listener) => {
          if (event === 'transition') listeners.push(listener as (t: Transition) => void);
          return queue.on(event, listener);
        },
      }),
    });
    const before = listeners.length;
    const streams = [];
    for (let i = 0; i < 3; i++) {
      const stream = await openEventStream(service.url('/events'));
      await stream.until((text) => text.length > 0);
      streams.push(stream);
    }
    const stringify = sinon.spy(JSON, 'stringify');
    for (const listener of listeners.slice(before)) listener(transition);
    const ofTransition = stringify.getCalls().filter((call) => (call.args[0] as { id?: string })?.id === 'x');
    stringify.restore();
    expect(ofTransition).to.have.length(1);

    const expected =
      ': connected\n\nevent: transition\ndata: {"id":"x","type":"simulated","from":"queued","to":"running","event":"DISPATCH","at":"2026-01-02T03:04:05.006Z","attempt":1,"error":null,"delay_ms":null,"delay_source":null}\n\n';
    for (const stream of streams) {
      await stream.until((text) => text.length >= expected.length);
      expect(stream.text()).to.equal(expected);
      stream.close();
    }
  });
});

