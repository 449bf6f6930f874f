import { expect } from 'chai';
import { startService, type Service } from './support.js';

describe('routing', () => {
  let service: Service;
  before(async () => {
    service = await startService();
  });
  after(() => service.stop());

  describe('an unknown path', () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['POST', '/enqueue/extra'],
      ['GET', '/jobs/a/b'],
      ['DELETE', '/'],
    ]) {
      it(`${method} ${path} is 404 not_found`, async () => {
        const reply = await service.request(method, path);
        expect(reply.status).to.equal(404);
        expect(reply.body).to.deep.equal({
          error: { code: 'not_found', message: `No route for ${method} ${path}.` },
        });
      });
    }
  });

  describe('a known path with the wrong method', () => {
    for (const [method, path, allow] of [
      ['DELETE', '/jobs', 'GET, HEAD, POST'],
      ['GET', '/enqueue', 'POST'],
      ['PUT', '/jobs/x', 'GET, HEAD'],
      ['POST', '/healthz', 'GET, HEAD'],
      ['POST', '/readyz', 'GET, HEAD'],
      ['PATCH', '/stats', 'GET, HEAD'],
      ['OPTIONS', '/jobs', 'GET, HEAD, POST'],
    ]) {
      it(`${method} ${path} is 405 method_not_allowed with Allow: ${allow}`, async () => {
        const reply = await service.request(method, path);
        expect(reply.status).to.equal(405);
        expect(reply.headers.get('allow')).to.equal(allow);
        expect(reply.body).to.deep.equal({
          error: {
            code: 'method_not_allowed',
            message: `${method} is not allowed on ${path}; allowed: ${allow}.`,
          },
        });
      });
    }
  });

  it('answers HEAD on a GET route', async () => {
    const reply = await service.request('HEAD', '/healthz');
    expect(reply.status).to.equal(200);
    expect(reply.text).to.equal('');
  });
});
