import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLoopback, loadConfig } from '../../src/config.js';
import { sha256Hex } from '../../src/tokens.js';
import { problemsOf } from '../helpers/config.js';


const HASH = sha256Hex('jst_example');
const EXPOSED =
  'HOST=0.0.0.0 listens beyond this machine, but no access token is configured. Add one: ' +
  '`npm run token -- --name NAME --scopes submit,read` prints a token and the line to add to the JSON list ' +
  'AUTH_TOKENS_FILE names (or set API_TOKEN to a secret of 16 characters or more). Or set ' +
  'ALLOW_UNAUTHENTICATED=true if anyone who can reach the port may use the service, or HOST=127.0.0.1.';

describe('access config', () => {
  let dir: string;
  /** Writes `content` (JSON-encoded unless a string) to a tokens file and returns its path. */
  const tokensFile = (content: unknown) => {
    const path = join(dir, 'tokens.json');
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'access-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('safe by default', () => {
    it('listens on 127.0.0.1, with no tokens and every route open to it', () => {
      const config = loadConfig({});
      expect(config.host).to.equal('127.0.0.1');
      expect(config.access).to.deep.equal({ tokens: [], allowUnauthenticated: false });
      expect(config.corsOrigins).to.deep.equal([]);
    });

    it('refuses a non-loopback HOST without tokens, saying how to add one', () => {
      expect(problemsOf({ HOST: '0.0.0.0' })).to.deep.equal([EXPOSED]);
      expect(problemsOf({ HOST: '::' })[0]).to.match(/^HOST=:: listens beyond this machine/);
      expect(problemsOf({ HOST: '10.1.2.3' })[0]).to.match(/^HOST=10\.1\.2\.3 listens beyond this machine/);
    });

    it('accepts a non-loopback HOST with a token, or with ALLOW_UNAUTHENTICATED=true', () => {
      expect(loadConfig({ HOST: '0.0.0.0', API_TOKEN: 'sixteen-chars-ok' }).host).to.equal('0.0.0.0');
      expect(loadConfig({ HOST: '0.0.0.0', AUTH_TOKENS_FILE: tokensFile([{ name: 'ci', sha256: HASH, scopes: ['read'] }]) }).host)
        .to.equal('0.0.0.0');
      expect(loadConfig({ HOST: '0.0.0.0', ALLOW_UNAUTHENTICATED: 'true' }).access).to.deep.equal({
        tokens: [],
        allowUnauthenticated: true,
      });
      expect(problemsOf({ ALLOW_UNAUTHENTICATED: 'yes' })).to.deep.equal([
        'ALLOW_UNAUTHENTICATED="yes" is invalid: expected one of true, false',
      ]);
    });

    it('knows loopback: 127.0.0.0/8, ::1 and localhost', () => {
      for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
        expect(isLoopback(host), host).to.equal(true);
      }
      for (const host of ['0.0.0.0', '::', '192.168.1.2', '128.0.0.1', 'example.com', 'localhost.example.com']) {
        expect(isLoopback(host), host).to.equal(false);
      }
    });
  });

  describe('AUTH_TOKENS_FILE', () => {
    it('reads the list of names, hashes and scopes; hashes in any case are kept lowercase', () => {
      const path = tokensFile([
        { name: 'ci', sha256: HASH.toUpperCase(), scopes: ['submit', 'read'] },
        { name: 'grafana', sha256: sha256Hex('other'), scopes: ['metrics'] },
      ]);
      expect(loadConfig({ AUTH_TOKENS_FILE: path }).access.tokens).to.deep.equal([
        { name: 'ci', sha256: HASH, scopes: ['submit', 'read'] },
        { name: 'grafana', sha256: sha256Hex('other'), scopes: ['metrics'] },
      ]);
    });

    it('adds API_TOKEN as one more token with every scope, by hash only', () => {
      const path = tokensFile([{ name: 'ci', sha256: HASH, scopes: ['read'] }]);
      const config = loadConfig({ AUTH_TOKENS_FILE: path, API_TOKEN: 'a-secret-of-16-chars' });
      expect(config.access.tokens).to.deep.equal([
        { name: 'ci', sha256: HASH, scopes: ['read'] },
        { name: 'API_TOKEN', sha256: sha256Hex('a-secret-of-16-chars'), scopes: ['submit', 'read', 'operate', 'debug', 'metrics'] },
      ]);
      expect(JSON.stringify(config.access)).to.not.include('a-secret-of-16-chars');
    });

    it('refuses a file that cannot be read, or is not JSON', () => {
      const missing = join(dir, 'missing.json');
      expect(problemsOf({ AUTH_TOKENS_FILE: missing })).to.deep.equal([
        `AUTH_TOKENS_FILE=${JSON.stringify(missing)} cannot be read: ENOENT: no such file or directory, open '${missing}'`,
      ]);
      const path = tokensFile('[{"name":');
      expect(problemsOf({ AUTH_TOKENS_FILE: path })).to.deep.equal([
        `AUTH_TOKENS_FILE=${JSON.stringify(path)} is not JSON: Unexpected end of JSON input`,
      ]);
    });

    it('names every bad entry and field, one line each', () => {
      const path = tokensFile([
        { name: 'ci', sha256: 'abc', scopes: ['read', 'admin'] },
        { name: 'bad name', sha256: HASH, scopes: [] },
        { name: 'ci', sha256: sha256Hex('x'), scopes: ['read'], token: 'jst_plain' },
      ]);
      const where = `AUTH_TOKENS_FILE=${JSON.stringify(path)} is invalid at`;
      expect(problemsOf({ AUTH_TOKENS_FILE: path })).to.deep.equal([
        `${where} [0].sha256: expected 64 hex digits: the SHA-256 of the token, as \`npm run token\` prints it`,
        `${where} [0].scopes[1]: expected one of submit, read, operate, debug, metrics`,
        `${where} [1].name: expected 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
        `${where} [1].scopes: expected at least one scope`,
        `${where} [2]: Unrecognized key: "token"`,
      ]);
    });

    it('refuses an empty list, a list naming a token twice, and anything but a list', () => {
      const where = (path: string) => `AUTH_TOKENS_FILE=${JSON.stringify(path)} is invalid at`;
      let path = tokensFile([]);
      expect(problemsOf({ AUTH_TOKENS_FILE: path })).to.deep.equal([`${where(path)} the top: expected at least one token`]);
      path = tokensFile([
        { name: 'ci', sha256: HASH, scopes: ['read'] },
        { name: 'ci', sha256: HASH, scopes: ['submit'] },
      ]);
      expect(problemsOf({ AUTH_TOKENS_FILE: path })).to.deep.equal([
        `${where(path)} [1].name: "ci" is listed twice`,
        `${where(path)} [1].sha256: the same hash is listed twice`,
      ]);
      path = tokensFile({ ci: HASH });
      expect(problemsOf({ AUTH_TOKENS_FILE: path })).to.deep.equal([
        `${where(path)} the top: Invalid input: expected array, received object`,
      ]);
    });
  });

  it('refuses a short API_TOKEN, or one a Bearer header cannot carry, without repeating it', () => {
    for (const bad of ['short-secret', 'sixteen chars, spaces']) {
      expect(problemsOf({ API_TOKEN: bad })).to.deep.equal([
        'API_TOKEN is invalid: expected at least 16 characters, each a letter, a digit or one of -._~+/ (what a Bearer header can carry)',
      ]);
    }
    expect(loadConfig({ API_TOKEN: 'c2l4dGVlbi1jaGFycy1vaw==' }).access.tokens).to.have.length(1);
  });

  it('reads CORS_ORIGINS as a comma-separated list of exact origins', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://ops.example.com,http://localhost:3000' }).corsOrigins).to.deep.equal([
      'https://ops.example.com',
      'http://localhost:3000',
    ]);
    for (const bad of ['*', 'https://ops.example.com/', 'ops.example.com', 'https://a.example.com,ftp://b.example.com']) {
      expect(problemsOf({ CORS_ORIGINS: bad }), bad).to.deep.equal([
        `CORS_ORIGINS=${JSON.stringify(bad)} is invalid: expected comma-separated origins, \`scheme://host[:port]\` each`,
      ]);
    }
  });
});
