/**
 * The debug page on a service with an access token, in Debian's chromium: the page asks for the token once,
 * keeps it for the tab, reads the event stream through fetch, and the token shows up in no URL and no log line.
 * The page also runs under the service's Content-Security-Policy with no violation.
 * Run with `npm run test:browser` (needs /usr/bin/chromium).
 */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import pino from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import type { Processor } from '../../src/processors/processor.js';
import { startService, type Service } from '../../src/server.js';

const TOKEN = 'jst_browser-test-token-0123456789';
const done: Processor = async () => ({ ok: true });

describe('debug page in chromium, with an access token', function () {
  let service: Service;
  let browser: Browser;
  let page: Page;
  const logLines: string[] = [];
  /** Every URL the page requested, with the kind of request chromium made. */
  const requests: { url: string; type: string; authorization: string | undefined }[] = [];
  const consoleMessages: string[] = [];
  const url = (path: string) => `http://127.0.0.1:${service.address.port}${path}`;

  before(async () => {
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', WORKERS: '2', LOG_LEVEL: 'trace', STORE: 'memory', SHUTDOWN_TIMEOUT_MS: '1000',
      API_TOKEN: TOKEN,
    });
    const sink = new Writable({
      write(chunk, _encoding, next) {
        logLines.push(String(chunk));
        next();
      },
    });
    service = await startService(config, pino({ level: 'trace' }, sink), {
      types: [{ name: 'simulated', kind: 'simulated', options: {}, processor: done, source: 'built-in' }],
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    page.on('request', (request) =>
      requests.push({ url: request.url(), type: request.resourceType(), authorization: request.headers().authorization }),
    );
    page.on('console', (message) => consoleMessages.push(message.text()));
    page.on('pageerror', (error) => consoleMessages.push(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    await service?.close();
  });

  it('asks for the token once, then shows live jobs read through fetch', async () => {
    await page.goto(url('/debug'));
    await page.waitForSelector('#token-dialog[open]');
    await page.fill('#token-dialog input[type="password"]', TOKEN);
    await page.click('#token-dialog button');
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#job-chart svg');
    expect(await page.$('#token-dialog')).to.equal(null);

    const submitted = await fetch(url('/jobs'), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'live-1' }),
    });
    expect(submitted.status).to.equal(202);
    await page.waitForSelector('#job-list tbody tr[data-id="live-1"]');
    await page.waitForFunction(() => document.querySelector('#connection')?.textContent === 'live');

    const events = requests.filter((request) => new URL(request.url).pathname === '/events');
    expect(events.map(({ type, authorization }) => ({ type, authorization }))).to.deep.equal([
      { type: 'fetch', authorization: `Bearer ${TOKEN}` },
    ]);
    expect(await page.evaluate(() => sessionStorage.getItem('job-service.token'))).to.equal(TOKEN);
  });

  it('keeps the token for the tab: a reload asks nothing', async () => {
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#job-list tbody tr[data-id="live-1"]');
    expect(await page.$('#token-dialog')).to.equal(null);
  });

  it('asks again, saying so, when the stored token is refused', async () => {
    await page.evaluate(() => sessionStorage.setItem('job-service.token', 'jst_revoked-token-0123456789'));
    await page.reload();
    await page.waitForSelector('#token-dialog[open]');
    expect(await page.textContent('#token-dialog label')).to.match(/^The service refused that token\./);
    await page.fill('#token-dialog input[type="password"]', TOKEN);
    await page.click('#token-dialog button');
    await page.waitForSelector('body[data-ready="true"]');
  });

  it('puts the token in no URL and no log line, and breaks no rule of the CSP', () => {
    expect(requests.length).to.be.greaterThan(10);
    expect(requests.filter((request) => request.url.includes(TOKEN))).to.deep.equal([]);
    expect(requests.filter((request) => !request.url.startsWith(url('/')))).to.deep.equal([]);
    expect(logLines.length).to.be.greaterThan(10);
    expect(logLines.filter((line) => line.includes(TOKEN))).to.deep.equal([]);
    expect(logLines.some((line) => line.includes('"token":"API_TOKEN"'))).to.equal(true);
    expect(consoleMessages.filter((message) => /Content Security Policy|page error/.test(message))).to.deep.equal([]);
  });
});
