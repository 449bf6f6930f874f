import { expect } from 'chai';
import { createHttpServer } from '../../src/http/http-server.js';

describe('the HTTP server', () => {
  it('takes its timeouts and connection cap from the config, not from Node', () => {
    const server = createHttpServer(
      () => {},
      {
        headersTimeoutMs: 2000,
        requestTimeoutMs: 3000,
        keepAliveTimeoutMs: 4000,
        maxConnections: 50,
        maxEventStreams: 1,
        listMaxBytes: 1024,
      },
      () => {},
    );
    expect({
      headersTimeout: server.headersTimeout,
      requestTimeout: server.requestTimeout,
      keepAliveTimeout: server.keepAliveTimeout,
      maxConnections: server.maxConnections,
    }).to.deep.equal({ headersTimeout: 2000, requestTimeout: 3000, keepAliveTimeout: 4000, maxConnections: 50 });
  });
});
