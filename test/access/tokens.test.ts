import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tokenCommand } from '../../src/token-cli.js';
import { newToken, sha256Hex, tokenMatcher, type AccessToken } from '../../src/tokens.js';

/** 32 bytes of 0x01: base64url "AQEB…AQE". */
const fixedRandom = (size: number) => Buffer.alloc(size, 1);
const FIXED_TOKEN = `jst_${Buffer.alloc(32, 1).toString('base64url')}`;

describe('tokens', () => {
  it('are the prefix and 32 random bytes, base64url', () => {
    expect(newToken(fixedRandom)).to.equal(FIXED_TOKEN);
    expect(newToken()).to.match(/^jst_[A-Za-z0-9_-]{43}$/);
    expect(newToken()).to.not.equal(newToken());
  });

  it('are matched by hash against every configured token', () => {
    const tokens: AccessToken[] = [
      { name: 'a', sha256: sha256Hex('token-a'), scopes: ['read'] },
      { name: 'b', sha256: sha256Hex('token-b'), scopes: ['submit'] },
    ];
    const identify = tokenMatcher(tokens);
    expect(identify('token-b')).to.equal(tokens[1]);
    expect(identify('token-a')).to.equal(tokens[0]);
    expect(identify('token-c')).to.equal(undefined);
    expect(identify('')).to.equal(undefined);
    expect(identify(sha256Hex('token-a'))).to.equal(undefined);
  });
});

describe('npm run token', () => {
  it('prints the token once and the entry for AUTH_TOKENS_FILE', () => {
    const entry = { name: 'ci', sha256: sha256Hex(FIXED_TOKEN), scopes: ['submit', 'read'] };
    expect(tokenCommand(['--name', 'ci', '--scopes', 'submit,read'], fixedRandom)).to.deep.equal({
      code: 0,
      stdout:
        `New token "ci" (shown only now; the service keeps only its hash):\n\n  ${FIXED_TOKEN}\n\n` +
        'Add this entry to the JSON list in the file AUTH_TOKENS_FILE names, then restart the service:\n\n' +
        `  ${JSON.stringify(entry)}\n\n` +
        `Clients send it as: Authorization: Bearer ${FIXED_TOKEN}\n`,
      stderr: '',
    });
  });

  it('takes "all" for every scope', () => {
    const { stdout } = tokenCommand(['--name', 'admin', '--scopes', 'all'], fixedRandom);
    expect(stdout).to.include('"scopes":["submit","read","operate","debug","metrics"]');
  });

  it('refuses a missing option, an unknown scope, a bad name or an unknown option, with exit code 2', () => {
    const usage =
      'usage: npm run token -- --name NAME --scopes SCOPE[,SCOPE...]\n  scopes: submit, read, operate, debug, metrics, or all\n';
    expect(tokenCommand(['--name', 'ci'])).to.deep.equal({
      code: 2,
      stdout: '',
      stderr: `both --name and --scopes are needed\n${usage}`,
    });
    expect(tokenCommand(['--name', 'ci', '--scopes', 'read,admin'])).to.deep.equal({
      code: 2,
      stdout: '',
      stderr: `--scopes: expected one of submit, read, operate, debug, metrics\n${usage}`,
    });
    expect(tokenCommand(['--name', 'c i', '--scopes', 'read']).stderr).to.equal(
      `--name: expected 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit\n${usage}`,
    );
    expect(tokenCommand(['--name', 'ci', '--scopes', 'read', '--admin']).code).to.equal(2);
  });

  it('runs as `npm run token`', async function () {
    // A child process: tsx starting up takes a second or two on a busy machine.
    this.timeout(20_000);
    const { stdout } = await promisify(execFile)('npm', ['run', '--silent', 'token', '--', '--name', 'ci', '--scopes', 'read'], {
      cwd: new URL('../..', import.meta.url),
    });
    const token = /^ {2}(jst_\S+)$/m.exec(stdout)![1]!;
    const entry = JSON.parse(/^ {2}(\{.*\})$/m.exec(stdout)![1]!);
    expect(entry).to.deep.equal({ name: 'ci', sha256: sha256Hex(token), scopes: ['read'] });
  });
});
