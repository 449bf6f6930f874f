/** RATE_LIMIT_PER_S: submissions per second per token (or address), refused with 429 rate_limited. */
import { expect } from 'chai';
import sinon from 'sinon';
import { sha256Hex } from '../../src/tokens.js';
import { startService, T0, type Service } from './support.js';

const rateLimited = (retryAfter: number) => ({
  error: {
    code: 'rate_limited',
    message: `Too many submissions: this client may submit 2 jobs a second (RATE_LIMIT_PER_S); retry in ${retryAfter} s.`,
    details: { limit_per_second: 2, retry_after_seconds: retryAfter },
  },
});

describe('RATE_LIMIT_PER_S', () => {
  let service: Service;
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    // Only Date: the limiter's windows are read from it, and the server's own timers stay real.
    clock = sinon.useFakeTimers({ now: T0, toFake: ['Date'] });
  });
  afterEach(async () => {
    sinon.restore();
    await service.stop();
  });

  it('refuses the third submission in a second with 429 rate_limited and Retry-After, and admits again a second later', async () => {
    service = await startService({ config: { workers: 1, queueSize: 10, rateLimitPerS: 2 } });
    expect((await service.post('/jobs', { id: 'a' })).status).to.equal(202);
    expect((await service.post('/enqueue', { id: 'b' })).status).to.equal(202);
    clock.tick(999);
    const refused = await service.post('/jobs', { id: 'c' });
    expect(refused.status).to.equal(429);
    expect(refused.headers.get('retry-after')).to.equal('1');
    expect(refused.body).to.deep.equal(rateLimited(1));
    expect((await service.get('/jobs/c')).status).to.equal(404);
    clock.tick(1);
    expect((await service.post('/jobs', { id: 'c' })).status).to.equal(202);
  });

  it('counts the items of a batch', async () => {
    service = await startService({ config: { workers: 1, queueSize: 10, rateLimitPerS: 2 } });
    expect((await service.post('/jobs/batch', { jobs: [{ id: 'a' }, { id: 'b' }] })).status).to.equal(200);
    expect((await service.post('/jobs', { id: 'c' })).body).to.deep.equal(rateLimited(1));
  });

  it('counts each token on its own', async () => {
    const tokens = ['one', 'two'].map((name) => ({
      name,
      sha256: sha256Hex(`token-${name}-0123456789`),
      scopes: ['submit' as const],
    }));
    service = await startService({
      config: { workers: 1, queueSize: 10, rateLimitPerS: 2, access: { tokens, allowUnauthenticated: false } },
    });
    const as = (name: string, id: string) => service.post('/jobs', { id }, { authorization: `Bearer token-${name}-0123456789` });
    expect((await as('one', 'a')).status).to.equal(202);
    expect((await as('one', 'b')).status).to.equal(202);
    expect((await as('one', 'c')).status).to.equal(429);
    expect((await as('two', 'c')).status).to.equal(202);
  });

  it('limits nothing when 0, the default', async () => {
    service = await startService({ config: { workers: 1, queueSize: 10 } });
    for (const id of ['a', 'b', 'c', 'd']) expect((await service.post('/jobs', { id })).status).to.equal(202);
  });
});
