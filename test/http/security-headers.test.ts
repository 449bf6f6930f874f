import { expect } from 'chai';
import { sha256Hex } from '../../src/tokens.js';
import { startService, type Service } from './support.js';

const CSP =
  "default-src 'self';script-src 'self';style-src 'self' 'unsafe-inline';img-src 'self' data:;font-src 'self';" +
  "connect-src 'self';object-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'";

/** The headers every response carries, whatever its route or status. */
const EXPECTED = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'SAMEORIGIN',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': null,
  'x-powered-by': null,
};

function securityHeadersOf(headers: Headers) {
  return Object.fromEntries(Object.keys(EXPECTED).map((name) => [name, headers.get(name)]));
}

describe('security headers', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService({
      config: { access: { tokens: [{ name: 'ci', sha256: sha256Hex('jst_ci-token-0123456789'), scopes: ['read'] }], allowUnauthenticated: false } },
      wrapQueue: (queue) => ({
        ...queue,
        stats: () => {
          throw new Error('the counters are gone');
        },
      }),
    });
  });
  afterEach(() => service.stop());

  it('are on every response: a page, a JSON answer, 401, 404, 405 and a 500', async () => {
    const auth = { headers: { authorization: 'Bearer jst_ci-token-0123456789' } };
    const replies = {
      page: await service.get('/debug'),
      script: await service.get('/debug/assets/page.js'),
      probe: await service.get('/healthz'),
      json: await service.request('GET', '/jobs', auth),
      unauthorized: await service.get('/jobs'),
      notFound: await service.get('/nowhere'),
      notAllowed: await service.request('DELETE', '/jobs'),
      internal: await service.request('GET', '/stats', auth),
    };
    expect(Object.fromEntries(Object.entries(replies).map(([name, reply]) => [name, reply.status]))).to.deep.equal({
      page: 200,
      script: 200,
      probe: 200,
      json: 200,
      unauthorized: 401,
      notFound: 404,
      notAllowed: 405,
      internal: 500,
    });
    for (const [name, reply] of Object.entries(replies)) expect(securityHeadersOf(reply.headers), name).to.deep.equal(EXPECTED);
  });

  it('are on the head of an event stream', async () => {
    const abort = new AbortController();
    const response = await fetch(service.url('/events'), {
      headers: { authorization: 'Bearer jst_ci-token-0123456789' },
      signal: abort.signal,
    });
    abort.abort();
    // The ci token lacks `debug`: a 403, still with the headers; the stream itself is checked below.
    expect(response.status).to.equal(403);
    expect(securityHeadersOf(response.headers)).to.deep.equal(EXPECTED);
  });

  it('keep no CORS header without CORS_ORIGINS, and no preflight answer', async () => {
    const reply = await service.request('GET', '/healthz', { headers: { origin: 'https://ops.example.com' } });
    expect(reply.headers.get('access-control-allow-origin')).to.equal(null);
    const preflight = await service.request('OPTIONS', '/jobs', {
      headers: { origin: 'https://ops.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).to.equal(405);
    expect(preflight.headers.get('access-control-allow-origin')).to.equal(null);
  });
});

describe('security headers on an event stream', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService();
  });
  afterEach(() => service.stop());

  it('are sent with the stream', async () => {
    const abort = new AbortController();
    const response = await fetch(service.url('/events'), { signal: abort.signal });
    abort.abort();
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.equal('text/event-stream; charset=utf-8');
    expect(securityHeadersOf(response.headers)).to.deep.equal(EXPECTED);
  });
});

describe('CORS with CORS_ORIGINS', () => {
  let service: Service;
  beforeEach(async () => {
    service = await startService({ config: { corsOrigins: ['https://ops.example.com'] } });
  });
  afterEach(() => service.stop());

  it('answers a listed origin, exposing the headers a client reads', async () => {
    const reply = await service.request('GET', '/stats', { headers: { origin: 'https://ops.example.com' } });
    expect(reply.status).to.equal(200);
    expect(reply.headers.get('access-control-allow-origin')).to.equal('https://ops.example.com');
    expect(reply.headers.get('access-control-expose-headers')).to.equal('Location,Retry-After,WWW-Authenticate');
    expect(reply.headers.get('access-control-allow-credentials')).to.equal(null);
    expect(reply.headers.get('vary')).to.equal('Origin');
  });

  it('answers the preflight of a listed origin, allowing the Authorization header', async () => {
    const preflight = await service.request('OPTIONS', '/jobs', {
      headers: {
        origin: 'https://ops.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(preflight.status).to.equal(204);
    expect(preflight.text).to.equal('');
    expect({
      origin: preflight.headers.get('access-control-allow-origin'),
      methods: preflight.headers.get('access-control-allow-methods'),
      headers: preflight.headers.get('access-control-allow-headers'),
      maxAge: preflight.headers.get('access-control-max-age'),
    }).to.deep.equal({
      origin: 'https://ops.example.com',
      methods: 'GET,HEAD,POST',
      headers: 'Authorization,Content-Type',
      maxAge: '600',
    });
  });

  it('gives an origin that is not listed no CORS header', async () => {
    const reply = await service.request('GET', '/stats', { headers: { origin: 'https://evil.example.com' } });
    expect(reply.status).to.equal(200);
    expect(reply.headers.get('access-control-allow-origin')).to.equal(null);
    const preflight = await service.request('OPTIONS', '/jobs', {
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).to.equal(405);
    expect(preflight.headers.get('access-control-allow-origin')).to.equal(null);
  });
});
