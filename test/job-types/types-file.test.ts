import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { JobTypesError } from '../../src/errors.js';
import { HTTP_TARGET_TIMEOUT_MS, loadTypesFile } from '../../src/job-types/types-file.js';
import { fixture, rejection } from './support.js';

const environment = { NOTIFY_TOKEN: 't0k3n', REGION: 'eu', ZONE: 'b', EMPTY: '', MULTI_LINE: 'line 1\nline 2' };

async function problemsOf(name: string, env: Record<string, string> = environment): Promise<string[]> {
  const error = await rejection(loadTypesFile(fixture(`types-files/${name}`), env));
  expect(error).to.be.instanceOf(JobTypesError);
  return (error as JobTypesError).problems;
}

describe('types file', () => {
  it('reads HTTP targets (url, resolved headers, options) and the options of task modules', async () => {
    expect(await loadTypesFile(fixture('types-files/good.json'), environment)).to.deep.equal({
      targets: {
        notify: {
          url: 'https://hooks.example.com/notify',
          headers: { authorization: 'Bearer t0k3n', 'x-region': 'eu-b', 'x-price': '$5 ${NOT A REFERENCE}' },
          options: { timeout_ms: HTTP_TARGET_TIMEOUT_MS },
        },
        'charge.card': {
          url: 'http://billing.internal:8080/charge',
          headers: {},
          options: { timeout_ms: 5000, max_retries: 7, backoff: { base_ms: 200 } },
        },
      },
      moduleOptions: {
        echo: { timeout_ms: 1500, backoff: { max_ms: 50 } },
        'with-options': { max_retries: 1, backoff: { max_ms: 99 } },
      },
    });
    expect(HTTP_TARGET_TIMEOUT_MS).to.equal(30_000);
  });

  it('says every problem, each with the JSON path of the bad value', async () => {
    const file = fixture('types-files/bad-values.json');
    expect(await problemsOf('bad-values.json')).to.deep.equal(
      [
        'version: Unrecognized key',
        'types.notify.timeout_ms: Invalid input: expected number, received string',
        'types.notify.retries: Unrecognized key',
        'types.ftp.url: Invalid URL: expected an absolute http: or https: URL',
        'types.echo.headers: only an HTTP target (an entry with "url") sends headers',
        'types.spin.isolation: only a task module (an entry without "url") runs in a thread',
        'types["Bad.Name"]: "Bad.Name" is not a valid job type name (Must start with a lowercase letter or digit, followed by lowercase letters, digits, ".", "_" or "-".)',
        'types["odd.name"].backoff.base_ms: Too small: expected number to be >=0',
        'types["odd.name"].backoff.maximum: Unrecognized key',
        'types.headers.headers["bad header"]: Not a valid HTTP header name',
        'types.headers.headers.x-ok: Invalid input: expected string, received number',
        'types.list: Invalid input: expected object, received array',
      ].map((line) => `${file}: ${line}`),
    );
  });

  it('names each environment variable a header needs that is not set (or empty), and never quotes a value', async () => {
    const file = fixture('types-files/missing-env.json');
    expect(await problemsOf('missing-env.json', { EMPTY: '', MULTI_LINE: 'secret\nvalue' })).to.deep.equal([
      `${file}: types.notify.headers.authorization: environment variable NOTIFY_TOKEN is not set`,
      `${file}: types.notify.headers.x-pair: environment variable EMPTY is not set`,
      `${file}: types.notify.headers.x-pair: environment variable ABSENT is not set`,
      `${file}: types.notify.headers.x-multi-line: must not contain CR, LF or NUL`,
    ]);
  });

  it('refuses a file that is not JSON, with the parser’s reason', async () => {
    const file = fixture('types-files/invalid-json.json');
    // The parser's wording differs between Node versions: the expectation asks the same parser.
    let reason = '';
    try {
      JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      reason = (error as Error).message;
    }
    expect(await problemsOf('invalid-json.json')).to.deep.equal([`${file}: not valid JSON: ${reason}`]);
  });

  it('refuses a file that is not an object with "types"', async () => {
    const file = fixture('types-files/not-an-object.json');
    expect(await problemsOf('not-an-object.json')).to.deep.equal([
      `${file}: Invalid input: expected object, received array`,
    ]);
  });

  it('refuses a file it cannot read', async () => {
    const file = fixture('types-files/absent.json');
    expect(await problemsOf('absent.json')).to.deep.equal([
      `${file}: cannot be read: ENOENT: no such file or directory, open '${file}'`,
    ]);
  });
});
