/** Progress on the event stream (`event: progress`) and in the job view, through the real routes. */
import { expect } from 'chai';
import type { Processor, ProcessorContext } from '../../src/processors/processor.js';
import { openEventStream } from './support.js';
import { startTypedService } from './typed-service.js';

describe('routes: progress', () => {
  let service: Awaited<ReturnType<typeof startTypedService>>;
  let context: ProcessorContext | undefined;
  let finish: (value: unknown) => void = () => {};
  const reporting: Processor = (_job, ctx) => {
    context = ctx;
    return new Promise((resolve) => (finish = resolve));
  };

  beforeEach(async () => {
    service = await startTypedService([{ name: 'resize', kind: 'module', options: {}, processor: reporting, source: 'resize.ts' }]);
  });
  afterEach(() => service.stop());

  const openStream = (path: string) => openEventStream(service.url(path));

  it('sends a running job’s progress as event: progress, shows it in the job, and keeps the result once done', async () => {
    const stream = await openStream('/events?state=running');
    await service.post('/jobs', { id: 'img-1', payload: { width: 64 } });
    await stream.until((text) => text.includes('"to":"running"'));
    context!.progress({ done: 3, of: 4 });
    await stream.until((t) => t.includes('event: progress'));
    const text = stream.text();
    stream.close();

    expect(text.split('\n\n').filter((event) => event.startsWith('event: progress'))).to.deep.equal([
      'event: progress\ndata: {"id":"img-1","type":"resize","progress":{"done":3,"of":4},"at":"2026-01-01T00:00:00.000Z"}',
    ]);
    expect((await service.get('/jobs/img-1')).body.progress).to.deep.equal({ done: 3, of: 4 });

    finish({ bytes: 2048 });
    await new Promise<void>((resolve) => {
      const off = service.queue.on('transition', (t) => t.to === 'done' && (off(), resolve()));
    });
    const { body } = await service.get('/jobs/img-1');
    expect([body.state, body.result, body.result_error, body.result_bytes, body.progress]).to.deep.equal([
      'done', { bytes: 2048 }, null, 14, { done: 3, of: 4 },
    ]);
  });

  it('leaves progress out of a stream filtered on another state', async () => {
    const stream = await openStream('/events?state=done');
    await service.post('/jobs', { id: 'img-2', payload: null });
    context!.progress('half');
    finish(null);
    await stream.until((t) => t.includes('"to":"done"'));
    const text = stream.text();
    stream.close();
    expect(text).not.to.include('event: progress');
  });
});
