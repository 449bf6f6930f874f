/**
 * End to end in a real browser: the service in-process, Debian's chromium driven by playwright-core, the
 * debug page following a job that fails, retries through `backoff`, and ends `failed`.
 * Run with `npm run test:browser` (needs /usr/bin/chromium: `apt-get install -y chromium`).
 */
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import type { Processor } from '../../src/processors/processor.js';
import { startService, type Service } from '../../src/server.js';

/** Fails every attempt of `doomed`; every other job succeeds after 50 ms. */
const processor: Processor = (job, { signal }) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => (job.id === 'doomed' ? reject(new Error(`disk full (attempt ${job.attempt})`)) : resolve(undefined)), 50);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))), { once: true });
  });

describe('debug page in chromium', function () {
  let service: Service;
  let browser: Browser;
  let page: Page;
  const url = (path: string) => `http://127.0.0.1:${service.address.port}${path}`;

  before(async () => {
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', WORKERS: '2', BACKOFF_BASE_MS: '400', BACKOFF_JITTER_MS: '0', LOG_LEVEL: 'silent',
      STORE: 'memory',
    });
    service = await startService(config, createLogger('silent'), { processor });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(url(''))) external.push(request.url());
    });
    page.on('pageerror', (error) => console.error('page error:', error));
    (page as unknown as { external: string[] }).external = external;
  });

  after(async () => {
    await browser?.close();
    await service?.close();
  });

  it('shows a failing job going through backoff to failed, with its timeline and highlighted path', async () => {
    await page.goto(url('/debug'));
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#job-chart svg');

    const submit = (body: unknown) =>
      fetch(url('/jobs'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    for (let i = 1; i <= 5; i++) expect((await submit({ id: `ok-${i}`, payload: { n: i } })).status).to.equal(202);
    expect((await submit({ id: 'doomed', payload: { file: 'report.csv' }, max_retries: 2 })).status).to.equal(202);

    // The live list (SSE) shows the job; select it while it is still retrying.
    await page.fill('#search', 'doomed');
    await page.click('#job-list tbody tr[data-id="doomed"]');
    await page.waitForFunction(() => document.querySelector('#selected-state')?.textContent === 'failed', null, { timeout: 15_000 });

    const rows = await page.$$eval('#timeline tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
    );
    expect(rows.map((row) => row[2])).to.deep.equal([
      '∅ → queued', 'queued → running', 'running → backoff', 'backoff → running', 'running → backoff', 'backoff → running', 'running → failed',
    ]);
    expect(rows.map((row) => row[3])).to.deep.equal(['0', '1', '1', '2', '2', '3', '3']);
    expect(rows.map((row) => row[4])).to.deep.equal(['', '', 'disk full (attempt 1)', '', 'disk full (attempt 2)', '', 'disk full (attempt 3)']);
    expect(rows.map((row) => row[5])).to.deep.equal(['', '', '400 ms', '', '800 ms', '', '']);
    expect(rows[2]![6]).to.equal(new Date(Date.parse(rows[2]![0]!) + 400).toISOString());

    // The chart: failed highlighted as current, the path's edges counted.
    await page.waitForFunction(() => document.querySelector('#job-chart')?.getAttribute('data-current') === 'failed');
    await page.waitForFunction(() => document.querySelectorAll('#job-chart .edgeLabel.used').length >= 4);
    const used = await page.$$eval('#job-chart .edgeLabel.used', (labels) => labels.map((label) => label.textContent!.trim()));
    expect(used.some((text) => /\[hasRetriesLeft\] ×2$/.test(text)), used.join(' | ')).to.equal(true);
    expect(used.some((text) => /^after retryDelay ×2$/.test(text)), used.join(' | ')).to.equal(true);
    const currentFill = await page.$eval('#job-chart g[data-state="failed"]', (g) => getComputedStyle(g.querySelector('rect, path')!).fill);
    expect(currentFill).to.equal('rgb(253, 224, 71)');

    // Live counts and the supervisor panel.
    await page.waitForFunction(() => /done \(5\)/.test(document.querySelector('#job-chart')?.textContent ?? ''));
    expect(await page.textContent('#lifecycle')).to.equal('accepting');
    expect(await page.textContent('#queue-used')).to.equal('0 / 66');
    // Hover text: each state's description.
    const title = await page.$eval('#job-chart g[data-state="backoff"] > title', (t) => t.textContent);
    expect(title).to.match(/retries are left/);

    await page.fill('#search', '');
    await page.screenshot({ path: 'docs/debug.png', fullPage: true });
    expect((page as unknown as { external: string[] }).external).to.deep.equal([]);
  });
});
