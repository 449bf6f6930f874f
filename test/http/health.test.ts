import { expect } from 'chai';
import { startService, type Service } from './support.js';

describe('health routes', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService();
  });
  afterEach(() => service.stop());

  describe('GET /healthz', () => {
    it('answers 200 OK as text', async () => {
      const reply = await service.get('/healthz');
      expect(reply.status).to.equal(200);
      expect(reply.text).to.equal('OK');
      expect(reply.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
    });

    it('stays 200 while draining', async () => {
      await service.post('/jobs', { id: 'slow' });
      void service.queue.drain(60_000);
      const reply = await service.get('/healthz');
      expect([reply.status, reply.text]).to.deep.equal([200, 'OK']);
    });
  });

  describe('GET /readyz', () => {
    it('is 200 ready while the queue accepts jobs', async () => {
      const reply = await service.get('/readyz');
      expect(reply.status).to.equal(200);
      expect(reply.body).to.deep.equal({ status: 'ready' });
    });

    it('is 503 draining once a drain has started and jobs are still running', async () => {
      await service.post('/jobs', { id: 'slow' });
      void service.queue.drain(60_000);
      expect(service.queue.lifecycle()).to.equal('draining');
      const reply = await service.get('/readyz');
      expect(reply.status).to.equal(503);
      expect(reply.body).to.deep.equal({ status: 'draining' });
    });

    it('is 503 draining after the drain has finished', async () => {
      await service.queue.drain(60_000);
      expect(service.queue.lifecycle()).to.equal('stopped');
      const reply = await service.get('/readyz');
      expect(reply.status).to.equal(503);
      expect(reply.body).to.deep.equal({ status: 'draining' });
    });
  });
});
