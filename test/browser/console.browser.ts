/**
 * The console's features in Debian's chromium driven by playwright-core: a retry and a bulk retry from the
 * page, dispatch paused and resumed, a deep link that survives a reload, server-side search, failures grouped
 * by message, the job detail, the throughput chart, the chart's readable text and bold path, the one-screen
 * layout, dark mode, and the chart keeping up under 4× CPU throttling. Saves the screenshots under docs/.
 * Run with `npm run test:browser` (needs /usr/bin/chromium: `apt-get install -y chromium`).
 */
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import type { JobTypeDefinition } from '../../src/job-types/job-type.js';
import { createLogger } from '../../src/logger.js';
import type { Processor } from '../../src/processors/processor.js';
import { startService, type Service } from '../../src/server.js';

/** A job whose id starts with `bad` fails every attempt with "boom"; `slow` ones take 2 s; others 30 ms. */
const processor: Processor = (job, { signal }) =>
  new Promise((resolve, reject) => {
    const id = String(job.id);
    const ms = id.startsWith('slow') ? 2000 : 30;
    const timer = setTimeout(() => (id.startsWith('bad') ? reject(new Error(`boom ${id.split('-')[1] ?? ''}`.trim())) : resolve({ echoed: id })), ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))), { once: true });
  });
const types: JobTypeDefinition[] = [{ name: 'simulated', kind: 'simulated', options: {}, processor, source: 'built-in' }];

describe('the console in chromium', function () {
  let browser: Browser;
  let service: Service | undefined;
  let page: Page;
  let pageErrors: string[];
  let requested: string[];
  let external: string[];
  const url = (path: string) => `http://127.0.0.1:${service!.address.port}${path}`;
  const submit = (body: unknown) =>
    fetch(url('/jobs'), { method: 'POST', headers: { 'Content-Type': 'application/json', connection: 'close' }, body: JSON.stringify(body) });
  const getJson = async (path: string) => (await fetch(url(path), { headers: { connection: 'close' } })).json() as Promise<Record<string, any>>;
  const stateOf = async (id: string) => (await getJson(`/jobs/${id}`)).state as string;
  const until = async (check: () => Promise<boolean>, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  async function boot(env: Record<string, string> = {}) {
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', WORKERS: '2', BACKOFF_BASE_MS: '1', BACKOFF_MAX_MS: '1', BACKOFF_JITTER_MS: '0',
      LOG_LEVEL: 'silent', STORE: 'memory', SHUTDOWN_TIMEOUT_MS: '1000', ...env,
    });
    service = await startService(config, createLogger('silent'), { types });
  }

  async function openPage(hash = '', options: { colorScheme?: 'dark' | 'light' } = {}) {
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: options.colorScheme ?? 'light' });
    pageErrors = [];
    requested = [];
    external = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('request', (request) => {
      if (!request.url().startsWith(url(''))) external.push(request.url());
      else requested.push(request.url().slice(url('').length));
    });
    await page.goto(url(`/debug${hash}`));
    await ready();
  }
  const ready = async () => {
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#job-chart svg');
  };
  const waitText = (selector: string, text: string | RegExp, timeout = 10_000) =>
    page.waitForFunction(
      ([sel, want, isRegExp]) => {
        const value = document.querySelector(sel as string)?.textContent ?? '';
        return isRegExp ? new RegExp(want as string).test(value) : value === want;
      },
      [selector, text instanceof RegExp ? text.source : text, text instanceof RegExp] as const,
      { timeout },
    );

  before(async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterEach(async () => {
    expect(external, 'requests outside the service').to.deep.equal([]);
    await page?.close();
    await service?.close();
    service = undefined;
  });
  after(() => browser?.close());

  it('retries a failed job from its panel, with its detail: payload, errors and durations', async () => {
    await boot();
    expect((await submit({ id: 'bad-1', payload: { file: 'a.csv', rows: [1, 2] }, max_retries: 1 })).status).to.equal(202);
    await until(async () => (await stateOf('bad-1')) === 'failed');
    await openPage();
    await page.click('#job-list tbody tr[data-id="bad-1"]');
    await waitText('#selected-state', 'failed');
    expect(await page.textContent('#selected-payload')).to.equal(JSON.stringify({ file: 'a.csv', rows: [1, 2] }, null, 2));
    expect(await page.textContent('#selected-error')).to.equal('boom 1');
    expect(await page.$$eval('#attempt-errors li', (items) => items.map((li) => li.textContent))).to.deep.equal([
      'attempt 1: boom 1',
      'attempt 2: boom 1',
    ]);
    expect(await page.textContent('#selected-attempts')).to.equal('2 of at most 2');
    expect(await page.textContent('#selected-durations')).to.match(/^waited \d+ ms · ran \d+ ms · total \d+ ms$/);
    expect(await page.isDisabled('#cancel-job')).to.equal(true);

    await page.click('#retry-job');
    await waitText('#action-result', /^retried bad-1: now (queued|running)$/);
    await until(async () => (await getJson('/jobs/bad-1')).attempts >= 3);
    expect((await getJson('/stats')).totals.manual_retries).to.equal(1);
    expect(pageErrors).to.deep.equal([]);
  });

  it('retries all failed jobs in bulk after a confirmation that says how many', async () => {
    await boot();
    for (let i = 1; i <= 3; i++) expect((await submit({ id: `bad-${i}`, payload: {}, max_retries: 0 })).status).to.equal(202);
    expect((await submit({ id: 'ok-1', payload: {} })).status).to.equal(202);
    await until(async () => (await getJson('/stats')).states.failed === 3);
    await openPage();
    await page.waitForFunction(() => /3 failed/.test(''), null, { timeout: 1 }).catch(() => {});
    await page.click('#retry-all');
    expect(await page.isVisible('#confirm')).to.equal(true);
    expect(await page.textContent('#confirm-text')).to.equal('Retry all 3 failed jobs?');
    await page.screenshot({ path: 'docs/console-bulk-confirm.png' });
    // Escape closes the confirmation without acting; the button asks again.
    await page.keyboard.press('Escape');
    expect(await page.isVisible('#confirm')).to.equal(false);
    await page.click('#retry-all');
    await page.click('#confirm-yes');
    await waitText('#action-result', 'retried 3 · skipped 0 · 0 still failed');
    expect(await page.isVisible('#confirm')).to.equal(false);
    expect((await getJson('/stats')).totals.manual_retries).to.equal(3);
    expect(pageErrors).to.deep.equal([]);
  });

  it('pauses and resumes dispatch from the header', async () => {
    await boot();
    await openPage();
    await page.click('#dispatch-toggle');
    await waitText('#dispatch-state', 'paused');
    expect(await page.textContent('#dispatch-toggle')).to.equal('resume dispatch');
    expect((await submit({ id: 'held-1', payload: {} })).status).to.equal(202);
    await page.waitForTimeout(300);
    expect(await stateOf('held-1')).to.equal('queued');
    await page.click('#dispatch-toggle');
    await waitText('#dispatch-state', 'running');
    await until(async () => (await stateOf('held-1')) === 'done');
  });

  it('opens a deep link to a job with filters, and comes back to the same view after a reload', async () => {
    await boot();
    for (let i = 1; i <= 3; i++) await submit({ id: `bad-${i}`, payload: {}, max_retries: 0 });
    await submit({ id: 'ok-1', payload: {} });
    await until(async () => (await getJson('/stats')).states.failed === 3);
    await openPage('#/jobs/bad-2?state=failed&q=BAD');
    const view = async () => ({
      selected: await page.textContent('#selected-id'),
      state: await page.inputValue('#state-filter'),
      search: await page.inputValue('#search'),
      rows: await page.$$eval('#job-list tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.id)),
      hash: await page.evaluate(() => location.hash),
    });
    await waitText('#selected-state', 'failed');
    const expected = { selected: 'bad-2', state: 'failed', search: 'BAD', rows: ['bad-3', 'bad-2', 'bad-1'], hash: '#/jobs/bad-2?state=failed&q=BAD' };
    expect(await view()).to.deep.equal(expected);
    // "/" goes to the search from anywhere on the page.
    await page.click('#selected-details');
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).to.equal('search');
    // Selecting another job changes the URL; a reload shows that one.
    await page.click('#job-list tbody tr[data-id="bad-3"]');
    await waitText('#selected-id', 'bad-3');
    await page.reload();
    await ready();
    await waitText('#selected-state', 'failed');
    expect(await view()).to.deep.equal({ ...expected, selected: 'bad-3', hash: '#/jobs/bad-3?state=failed&q=BAD' });
    // The search ran on the server: no page of the list was larger than 50.
    expect(requested.filter((path) => path.startsWith('/jobs?'))).to.include('/jobs?limit=50&state=failed&id_prefix=BAD');
    expect(requested.some((path) => /[?&]limit=(?!50\b)/.test(path))).to.equal(false);
    expect(pageErrors).to.deep.equal([]);
  });

  it('searches by time range on the server, from the local-time inputs', async () => {
    await boot();
    await submit({ id: 'early-1', payload: {} });
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await submit({ id: 'late-1', payload: {} });
    await submit({ id: 'late-2', payload: {} });
    await openPage();
    const lateAt = (await getJson('/jobs/late-1')).created_at as string;
    // The input's value: late-1's second, in the browser's local time.
    const local = await page.evaluate((iso) => {
      const at = new Date(Date.parse(iso));
      const parts = [at.getMonth() + 1, at.getDate(), at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, '0'));
      return `${at.getFullYear()}-${parts[0]}-${parts[1]}T${parts[2]}:${parts[3]}:${parts[4]}`;
    }, lateAt);
    await page.fill('#created-after', local);
    await page.waitForFunction(() => document.querySelectorAll('#job-list tbody tr').length === 2);
    expect(await page.$$eval('#job-list tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.id))).to.deep.equal(['late-2', 'late-1']);
    expect(requested.some((path) => path.includes('created_after='))).to.equal(true);
    expect(await page.evaluate(() => location.hash)).to.equal(`#/jobs?after=${encodeURIComponent(local)}`);
  });

  it('groups failures by message and links each group to its failed jobs', async () => {
    await boot();
    for (const id of ['bad-x-1', 'bad-y-2', 'bad-x-3']) await submit({ id, payload: {}, max_retries: 0 });
    await until(async () => (await getJson('/stats')).states.failed === 3);
    await openPage();
    await page.waitForFunction(() => document.querySelectorAll('#failures li').length === 2);
    expect(await page.$$eval('#failures li', (items) => items.map((li) => li.textContent))).to.deep.equal(['2 boom x', '1 boom y']);
    await page.click('#failures li:first-child a');
    await page.waitForFunction(() => document.querySelectorAll('#job-list tbody tr').length === 2);
    expect(await page.$$eval('#job-list tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.id))).to.deep.equal(['bad-x-3', 'bad-x-1']);
    expect(await page.evaluate(() => location.hash)).to.equal('#/jobs?state=failed&error=boom+x');
    expect(await page.textContent('#error-filter')).to.equal('error: boom x ✕');
  });

  it('draws the throughput of the last seconds from GET /stats/series', async () => {
    await boot();
    await openPage();
    for (let i = 1; i <= 5; i++) await submit({ id: `ok-${i}`, payload: {} });
    await page.waitForFunction(() => Number((document.querySelector('#series-chart') as HTMLElement).dataset.lastSubmitted) === 5, null, { timeout: 6000 });
    expect(await page.$$eval('#series-chart canvas', (canvases) => canvases.length)).to.equal(1);
  });

  it('reads at 1440×900: text of 12 px or more, the path bold, chart, list and job on one screen', async () => {
    await boot();
    for (let i = 1; i <= 60; i++) await submit({ id: `ok-${String(i).padStart(2, '0')}`, payload: { n: i, note: 'x'.repeat(3000) } });
    await until(async () => (await getJson('/stats')).states.done === 60);
    await openPage();
    await page.click('#job-list tbody tr[data-id="ok-60"]');
    await waitText('#selected-state', 'done');
    await page.waitForFunction(() => document.querySelectorAll('#job-chart path.used-edge').length === document.querySelectorAll('#job-chart .edgeLabel.used').length && document.querySelectorAll('#job-chart .edgeLabel.used').length >= 2);
    const smallest = await page.$$eval('#job-chart text, #job-list td, #timeline td, #selected-details dd', (elements) =>
      Math.min(...elements.map((element) => parseFloat(getComputedStyle(element).fontSize) * (element.closest('svg') ? element.closest('svg')!.getBoundingClientRect().width / (element.closest('svg') as SVGSVGElement).viewBox.baseVal.width : 1))),
    );
    expect(smallest).to.be.at.least(12);
    expect(await page.$eval('#job-chart path.used-edge', (path) => getComputedStyle(path).strokeWidth)).to.equal('3.5px');
    // The supervisor chart's labels (its self-loops among them) do not overlap one another.
    const overlaps = await page.$$eval('#supervisor-chart .edgeLabel', (labels) => {
      const boxes = labels.map((label) => ({ text: label.textContent, box: label.getBoundingClientRect() })).filter(({ box }) => box.width > 0);
      return boxes.flatMap((a, i) =>
        boxes.slice(i + 1).filter((b) => a.box.left < b.box.right && b.box.left < a.box.right && a.box.top < b.box.bottom && b.box.top < a.box.bottom).map((b) => `${a.text} / ${b.text}`),
      );
    });
    expect(overlaps).to.deep.equal([]);
    // A large payload is cut, and shown whole on demand.
    expect(await page.textContent('.show-all')).to.match(/^show all \(\d+ more characters\)$/);
    const inView = await page.evaluate(() =>
      // The selected job's state on the chart is scrolled into the chart's panel.
      ['#job-chart g[data-state="done"]', '#job-list tbody tr', '#selected-id', '#timeline tbody tr', '#series-chart canvas'].map((selector) => {
        const box = document.querySelector(selector)!.getBoundingClientRect();
        const panel = document.querySelector(selector)!.closest('.chart')?.getBoundingClientRect() ?? { top: 0, left: 0, bottom: innerHeight, right: innerWidth };
        return box.top >= Math.max(0, panel.top) && box.top < Math.min(innerHeight, panel.bottom) && box.left >= Math.max(0, panel.left) && box.left < Math.min(innerWidth, panel.right);
      }),
    );
    expect(inView).to.deep.equal([true, true, true, true, true]);
    expect(await page.evaluate(() => document.documentElement.scrollHeight <= innerHeight)).to.equal(true);
    await page.screenshot({ path: 'docs/console.png' });
    await page.click('.show-all');
    expect((await page.textContent('#selected-payload'))!.length).to.be.greaterThan(3000);
  });

  it('follows prefers-color-scheme: dark', async () => {
    await boot();
    for (let i = 1; i <= 3; i++) await submit({ id: `bad-${i}`, payload: {}, max_retries: 0 });
    await until(async () => (await getJson('/stats')).states.failed === 3);
    await openPage('#/jobs/bad-1', { colorScheme: 'dark' });
    await waitText('#selected-state', 'failed');
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).to.equal('rgb(11, 16, 32)');
    expect(await page.evaluate(() => getComputedStyle(document.body).color)).to.equal('rgb(229, 231, 235)');
    await page.waitForTimeout(1500);
    await page.screenshot({ path: 'docs/console-dark.png' });
  });

  it('updates the chart within 3 s of the service under 4× CPU throttling', async () => {
    await boot({ WORKERS: '4' });
    await openPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    const lags: number[] = [];
    const renders = () => page.$eval('#job-chart', (chart) => Number((chart as HTMLElement).dataset.rendered));
    let rendersAfterFirstRound = 0;
    for (let round = 1; round <= 3; round++) {
      if (round === 2) rendersAfterFirstRound = await renders();
      for (let i = 1; i <= 10; i++) await submit({ id: `r${round}-${i}`, payload: {} });
      await until(async () => (await getJson('/stats')).states.done === round * 10);
      const doneAt = Date.now();
      await page.waitForFunction((want) => (document.querySelector('#job-chart')?.textContent ?? '').includes(`done (${want})`), round * 10, { timeout: 10_000 });
      lags.push(Date.now() - doneAt);
    }
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    expect(lags.filter((lag) => lag > 3000), `lags ${lags.join(', ')} ms`).to.deep.equal([]);
    // From 10 done on, the counts keep their number of digits: the labels are rewritten, the chart not drawn
    // again (a render is about 0.3 s of main thread, four times that here). One render is allowed for a count
    // that did reach another width (a queue of 10, say).
    expect((await renders()) - rendersAfterFirstRound).to.be.at.most(1);
  });
});
