import { expect } from 'chai';
import { exitWithin, killAll, startService } from './child-service.js';

describe('process: bad configuration', function () {
  this.timeout(20_000);
  afterEach(killAll);

  it('WORKERS=abc exits with code 2, naming WORKERS on stderr, without a stack trace', async () => {
    const child = await startService({ WORKERS: 'abc' });
    const { code, signal } = await exitWithin(child, 10_000);

    expect(code, `signal ${signal}`).to.equal(2);
    expect(child.stderr()).to.equal('WORKERS="abc" is invalid: expected an integer from 1 to 1024\n');
    expect(child.stdout()).to.equal('');
  });

  it('prints one line per bad variable', async () => {
    const child = await startService({ WORKERS: '0', QUEUE_SIZE: '-1', LOG_LEVEL: 'loud' });
    const { code, signal } = await exitWithin(child, 10_000);

    expect(code, `signal ${signal}`).to.equal(2);
    const lines = child.stderr().trimEnd().split('\n');
    expect(lines).to.have.length(3);
    expect(lines.map((line) => line.split('=')[0])).to.deep.equal(['WORKERS', 'QUEUE_SIZE', 'LOG_LEVEL']);
    expect(child.stderr()).not.to.match(/^\s+at /m);
  });

  it('a PostgreSQL store out of reach exits with code 2 after PG_CONNECT_TIMEOUT_MS, naming the host, never the password', async () => {
    const child = await startService({ STORE: 'postgres://app:s3cret@127.0.0.1:1/jobs', PG_CONNECT_TIMEOUT_MS: '300' });
    const { code, signal } = await exitWithin(child, 10_000);

    expect(code, `signal ${signal}`).to.equal(2);
    expect(child.stderr()).to.match(
      /^Cannot open the job store postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/jobs: the database at 127\.0\.0\.1:1 did not answer within 300 ms \(PG_CONNECT_TIMEOUT_MS\): [^\n]+\n$/,
    );
    expect(child.stderr() + child.stdout()).not.to.include('s3cret');
  });
});
