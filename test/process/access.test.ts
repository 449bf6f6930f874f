/**
 * The access defaults as the real process applies them: where it listens, when it refuses to start, and that
 * neither its log nor its stderr ever shows a token.
 */
import { expect } from 'chai';
import { exitWithin, killAll, startService, waitUntilHealthy } from './child-service.js';

const TOKEN = 'jst_process-test-token-0123456789';

describe('process: access defaults', function () {
  this.timeout(20_000);
  afterEach(killAll);

  it('listens on 127.0.0.1 when HOST is unset', async () => {
    const child = await startService({ HOST: '' });
    const listening = await child.waitForLine((line) => line.msg === 'listening', 10_000);
    expect(listening.host).to.equal('127.0.0.1');
    expect(child.lines.filter((line) => line.level === 'warn')).to.deep.equal([]);
  });

  it('exits with code 2 on a non-loopback HOST without a token, saying how to add one', async () => {
    const child = await startService({ HOST: '0.0.0.0' });
    const { code, signal } = await exitWithin(child, 10_000);
    expect(code, `signal ${signal}`).to.equal(2);
    expect(child.stderr()).to.equal(
      'HOST=0.0.0.0 listens beyond this machine, but no access token is configured. Add one: ' +
        '`npm run token -- --name NAME --scopes submit,read` prints a token and the line to add to the JSON list ' +
        'AUTH_TOKENS_FILE names (or set API_TOKEN to a secret of 16 characters or more). Or set ' +
        'ALLOW_UNAUTHENTICATED=true if anyone who can reach the port may use the service, or HOST=127.0.0.1.\n',
    );
    expect(child.stdout()).to.equal('');
  });

  it('starts open on a non-loopback HOST with ALLOW_UNAUTHENTICATED=true, with a warning', async () => {
    const child = await startService({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true' });
    await child.waitForLine((line) => line.msg === 'listening', 10_000);
    const warnings = child.lines.filter((line) => line.level === 'warn');
    expect(warnings.map(({ msg, host }) => ({ msg, host }))).to.deep.equal([
      {
        msg:
          'ALLOW_UNAUTHENTICATED=true: no access token is configured, and anyone who can reach the port may submit, ' +
          'read, cancel and retry every job',
        host: '0.0.0.0',
      },
    ]);
    expect((await fetch(child.url('/jobs'))).status).to.equal(200);
  });

  it('with API_TOKEN, asks for it and logs its name, never the token', async () => {
    const child = await startService({ HOST: '0.0.0.0', API_TOKEN: TOKEN, LOG_LEVEL: 'trace' });
    await waitUntilHealthy(child);
    expect((await fetch(child.url('/jobs'))).status).to.equal(401);
    const authorized = await fetch(child.url('/jobs'), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'a' }),
    });
    expect(authorized.status).to.equal(202);
    await child.waitForLine((line) => line.msg === 'request' && line.token === 'API_TOKEN');
    expect(child.lines.filter((line) => line.level === 'warn')).to.deep.equal([]);
    expect(child.stdout() + child.stderr()).to.not.include(TOKEN);
  });
});
