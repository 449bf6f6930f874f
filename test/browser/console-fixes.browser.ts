/**
 * The debug page under load and through failures, in Debian's chromium driven by playwright-core: the live list
 * keeps its rows under the pointer and can be paused, the chart keeps up when drawing is slow, the badge says
 * when data is stale or the stream is down, a reconnect reloads the list, a pruned job says so when selected,
 * and a job with more transitions than its record keeps is counted whole.
 * Run with `npm run test:browser` (needs /usr/bin/chromium: `apt-get install -y chromium`).
 */
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import type { JobTypeDefinition } from '../../src/job-types/job-type.js';
import { createLogger } from '../../src/logger.js';
import type { Processor } from '../../src/processors/processor.js';
import { startService, type Service } from '../../src/server.js';

/** Succeeds after 30 ms; a job whose id starts with `flaky` fails its first 30 attempts. */
const processor: Processor = (job, { signal }) =>
  new Promise((resolve, reject) => {
    const fails = job.id.startsWith('flaky') && job.attempt <= 30;
    const timer = setTimeout(() => (fails ? reject(new Error(`flaky (attempt ${job.attempt})`)) : resolve(undefined)), 30);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))), { once: true });
  });

const types: JobTypeDefinition[] = [{ name: 'simulated', kind: 'simulated', options: {}, processor, source: 'built-in' }];

const BASE_ENV = {
  PORT: '0', HOST: '127.0.0.1', WORKERS: '4', BACKOFF_BASE_MS: '1', BACKOFF_MAX_MS: '1', BACKOFF_JITTER_MS: '0',
  LOG_LEVEL: 'silent', STORE: 'memory', SHUTDOWN_TIMEOUT_MS: '1000', MAX_RETRIES_LIMIT: '40',
};

describe('debug page under load and failures, in chromium', function () {
  let browser: Browser;
  let service: Service | undefined;
  let page: Page;
  /** Errors the page threw, unhandled rejections included. */
  let pageErrors: string[];
  let port = 0;
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  const submit = (body: unknown) =>
    fetch(url('/jobs'), { method: 'POST', headers: { 'Content-Type': 'application/json', connection: 'close' }, body: JSON.stringify(body) });

  async function boot(env: Record<string, string> = {}) {
    const config = loadConfig({ ...BASE_ENV, ...env, PORT: String(port) });
    service = await startService(config, createLogger('silent'), { types });
    port = service.address.port;
  }

  /** Submits a job every `everyMs` until the returned function is called. */
  function load(prefix: string, everyMs = 50) {
    let n = 0;
    const timer = setInterval(() => void submit({ id: `${prefix}-${++n}`, payload: {} }).catch(() => {}), everyMs);
    return () => clearInterval(timer);
  }

  async function openPage() {
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    await page.goto(url('/debug'));
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#job-chart svg');
  }

  const listIds = () => page.$$eval('#job-list tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.id!));
  const badge = () => page.$eval('#connection', (element) => (element as HTMLElement).dataset.state ?? element.textContent);
  const waitForBadge = (state: string, timeout = 15_000) =>
    page.waitForFunction((want) => (document.querySelector('#connection') as HTMLElement).dataset.state === want, state, { timeout });

  before(async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  afterEach(async () => {
    await page?.close();
    await service?.close();
    service = undefined;
    port = 0;
  });

  after(async () => {
    await browser?.close();
  });

  describe('the live list', () => {
    let stop = () => {};
    beforeEach(async () => {
      await boot();
      for (let i = 1; i <= 20; i++) await submit({ id: `seed-${String(i).padStart(2, '0')}`, payload: {} });
      await openPage();
      stop = load('live');
      await page.waitForFunction(() => document.querySelectorAll('#job-list tbody tr').length >= 30);
    });
    afterEach(() => stop());

    it('updates rows in place: a row shown before a burst of events is the same element after it', async () => {
      await page.mouse.move(5, 5);
      // Near the top, so that it stays on the first page while newer jobs push it down.
      const id = (await page.getAttribute('#job-list tbody tr:nth-child(3)', 'data-id'))!;
      await page.$eval(`#job-list tbody tr[data-id="${id}"]`, (tr) => ((tr as HTMLElement & { marked?: boolean }).marked = true));
      // A burst of at least 10 jobs: the row moves down, and stays on the first page.
      const total = async () => Number(/ of (\d+)$/.exec((await page.textContent('#job-total'))!)![1]);
      const before = await total();
      await page.waitForFunction((was) => Number(/ of (\d+)$/.exec(document.querySelector('#job-total')!.textContent!)![1]) >= was + 10, before);
      const still = await page.$eval(`#job-list tbody tr[data-id="${id}"]`, (tr) => (tr as HTMLElement & { marked?: boolean }).marked === true);
      expect(still).to.equal(true);
    });

    it('selects exactly the row pressed for 80 ms while 20 jobs a second arrive, 20 times in 20', async () => {
      // The list is below the chart: scrolled into view, as a user would.
      await page.locator('#job-list').scrollIntoViewIfNeeded();
      const wanted: string[] = [];
      const selected: string[] = [];
      for (let i = 0; i < 20; i++) {
        // Away from the list, so that it takes in what arrived, then onto it, as a user aims at a row.
        await page.mouse.move(5, 5);
        await page.waitForTimeout(150);
        const header = (await page.locator('#job-list thead').boundingBox())!;
        await page.mouse.move(header.x + 20, header.y + header.height / 2);
        const row = page.locator('#job-list tbody tr').nth(1 + (i % 10));
        const id = (await row.getAttribute('data-id'))!;
        const box = (await row.boundingBox())!;
        await page.mouse.move(box.x + 30, box.y + box.height / 2, { steps: 3 });
        await page.mouse.down();
        await page.waitForTimeout(80);
        await page.mouse.up();
        await page.waitForFunction((want) => document.querySelector('#selected-id')?.textContent === want, id, { timeout: 2000 }).catch(() => {});
        wanted.push(id);
        selected.push((await page.textContent('#selected-id'))!);
      }
      expect(selected).to.deep.equal(wanted);
    });

    it('freezes the list while "pause live updates" is on, and catches up when it is off', async () => {
      await page.mouse.move(5, 5);
      await page.check('#pause');
      const rowsText = () => page.$$eval('#job-list tbody tr', (trs) => trs.map((tr) => tr.textContent).join('\n'));
      const frozen = await rowsText();
      const total = await page.textContent('#job-total');
      await page.waitForTimeout(1500);
      expect(await rowsText()).to.equal(frozen);
      expect(await page.textContent('#job-total')).to.equal(total);
      expect(await page.textContent('#list-held')).to.equal('paused: live updates are not shown');

      await page.uncheck('#pause');
      await page.waitForFunction((was) => document.querySelector('#job-total')?.textContent !== was, total, { timeout: 3000 });
      expect(await page.textContent('#list-held')).to.equal('');
    });

    it('searches ids without regard to case, and reaches and selects rows by keyboard', async () => {
      expect((await submit({ id: 'MixedCase-Job', payload: {} })).status).to.equal(202);
      await page.fill('#search', 'mixedcase-');
      await page.waitForFunction(() => document.querySelectorAll('#job-list tbody tr').length === 1);
      expect(await listIds()).to.deep.equal(['MixedCase-Job']);
      await page.fill('#search', 'SEED-0');
      await page.waitForFunction(() => document.querySelectorAll('#job-list tbody tr').length === 9);
      expect(await listIds()).to.deep.equal(['seed-09', 'seed-08', 'seed-07', 'seed-06', 'seed-05', 'seed-04', 'seed-03', 'seed-02', 'seed-01']);

      // Tab from the last control reaches the first row; the arrows move between rows; Enter selects.
      await page.focus('#pause');
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.id)).to.equal('seed-09');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.id)).to.equal('seed-07');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelector('#selected-state')?.textContent === 'done');
      expect(await page.textContent('#selected-id')).to.equal('seed-07');
    });
  });

  describe('the chart and the badge', () => {
    it('keeps drawing the latest counts, at most 3 s behind, when one render takes longer than counts take to change', async () => {
      await boot();
      await openPage();
      // Counts the test sets: each status answer says `done` is the value served.
      let done = 0;
      const served: { value: number; at: number }[] = [];
      await page.route('**/debug/status', async (route) => {
        const response = await route.fetch();
        const body = await response.json();
        body.states.done = done;
        if (served.at(-1)?.value !== done) served.push({ value: done, at: Date.now() });
        await route.fulfill({ response, json: body });
      });
      // Each render takes 1.1 s more, longer than the 1 s between status answers.
      await page.evaluate(() => {
        const w = window as unknown as { mermaid: { render: (...args: unknown[]) => Promise<unknown> }; shown: { value: number; at: number }[] };
        const render = w.mermaid.render.bind(w.mermaid);
        w.mermaid.render = async (...args) => {
          const result = await render(...args);
          await new Promise((resolve) => setTimeout(resolve, 1100));
          return result;
        };
        w.shown = [];
        const chart = document.querySelector('#job-chart')!;
        new MutationObserver(() => {
          const value = /done \((\d+)\)/.exec(chart.textContent ?? '')?.[1];
          if (value !== undefined) w.shown.push({ value: Number(value), at: Date.now() });
        }).observe(chart, { childList: true, subtree: true });
      });
      for (let value = 1; value <= 10; value++) {
        done = value;
        await page.waitForTimeout(1000);
      }
      await page.waitForTimeout(3000);
      const shown = await page.evaluate(() => (window as unknown as { shown: { value: number; at: number }[] }).shown);
      // Every value served is on screen, or a later one is, within 3 s of being served.
      const late = served.filter(({ value, at }) => !shown.some((s) => s.value >= value && s.at <= at + 3000)).map((s) => s.value);
      expect(late).to.deep.equal([]);
      expect(await badge()).to.equal('live');
    });

    it('says "stale" when the counts are older than 5 s, and "disconnected" with no "accepting" once the service is down', async () => {
      await boot();
      await openPage();
      await waitForBadge('live');
      expect(await page.textContent('#lifecycle')).to.equal('accepting');
      const highlighted = () => page.$eval('#supervisor-chart', (chart) => chart.querySelector('g.current[data-state]')?.getAttribute('data-state') ?? null);
      expect(await highlighted()).to.equal('accepting');
      await page.route('**/debug/status', (route) => route.abort());
      await waitForBadge('stale', 8000);
      expect(await page.textContent('#connection')).to.match(/^stale · \d+ s old$/);
      expect(await page.textContent('#lifecycle')).to.equal('unreachable');
      await page.unroute('**/debug/status');
      await waitForBadge('live', 5000);
      expect(await page.textContent('#lifecycle')).to.equal('accepting');

      await service!.close();
      service = undefined;
      await waitForBadge('disconnected');
      expect(await page.textContent('#connection')).to.equal('disconnected');
      await page.waitForFunction(() => document.querySelector('#lifecycle')?.textContent === 'unreachable', null, { timeout: 5000 });
      expect(await page.textContent('#workers')).to.equal('–');
      expect(await page.textContent('#queue-used')).to.equal('–');
      await page.waitForFunction(() => !document.querySelector('#supervisor-chart g.current'), null, { timeout: 5000 }).catch(() => {});
      expect(await highlighted()).to.equal(null);
    });
  });

  describe('jobs the service no longer has', () => {
    it('reloads the list and the status on reconnect: jobs lost to a restart go, one submitted meanwhile comes', async () => {
      await boot();
      for (let i = 1; i <= 5; i++) await submit({ id: `before-${i}`, payload: {} });
      await openPage();
      await page.waitForFunction(() => document.querySelectorAll('#job-list tbody tr').length === 5);

      // A restart of a service with a memory store: every job is lost.
      await service!.close();
      service = undefined;
      await waitForBadge('disconnected');
      await boot();
      expect((await submit({ id: 'after-1', payload: {} })).status).to.equal(202);
      await waitForBadge('live');
      await page.waitForFunction(() => document.querySelectorAll('#job-list tbody tr').length === 1);
      expect(await listIds()).to.deep.equal(['after-1']);
      expect(await page.textContent('#job-total')).to.equal('1 shown of 1');
      expect(await page.textContent('#lifecycle')).to.equal('accepting');
      expect(pageErrors).to.deep.equal([]);
    });

    it('says "job no longer exists (pruned or lost)" for a pruned job, and clears the previous job and its highlight', async () => {
      await boot({ JOB_RETENTION: '3' });
      for (let i = 1; i <= 3; i++) await submit({ id: `old-${i}`, payload: {} });
      await openPage();
      await page.waitForFunction(() => document.querySelectorAll('#job-list tbody tr').length === 3);
      await page.click('#job-list tbody tr[data-id="old-3"]');
      await page.waitForFunction(() => document.querySelector('#job-chart')?.getAttribute('data-current') === 'done');
      await page.waitForFunction(() => document.querySelectorAll('#job-chart .edgeLabel.used').length > 0);
      // The list is one page of the service's: paused, it still shows the jobs about to be pruned.
      await page.check('#pause');
      for (let i = 1; i <= 3; i++) await submit({ id: `new-${i}`, payload: {} });
      // Retention keeps the 3 newest finished jobs: old-1 is gone from the service, not from the page's list.
      for (let tries = 0; tries < 100; tries++) {
        if ((await fetch(url('/jobs/old-1'), { headers: { connection: 'close' } })).status === 404) break;
        await page.waitForTimeout(50);
      }
      expect((await fetch(url('/jobs/old-1'), { headers: { connection: 'close' } })).status).to.equal(404);

      await page.click('#job-list tbody tr[data-id="old-1"]');
      await page.waitForFunction(() => document.querySelector('#selected-retry')?.textContent !== '', null, { timeout: 5000 });
      expect(await page.textContent('#selected-id')).to.equal('old-1');
      expect(await page.textContent('#selected-retry')).to.equal('job no longer exists (pruned or lost)');
      expect(await page.textContent('#selected-state')).to.equal('');
      expect(await page.textContent('#selected-type')).to.equal('–');
      expect(await page.$$eval('#timeline tbody tr', (trs) => trs.length)).to.equal(0);
      await page.waitForFunction(() => document.querySelectorAll('#job-chart .edgeLabel.used').length === 0, null, { timeout: 5000 }).catch(() => {});
      expect(await page.$$eval('#job-chart .edgeLabel.used', (labels) => labels.length)).to.equal(0);
      expect(await page.getAttribute('#job-chart', 'data-current')).to.equal('');
      expect(pageErrors).to.deep.equal([]);
    });
  });

  it('counts a job with more transitions than its record keeps from the whole path, and says the timeline is cut', async () => {
    await boot();
    await openPage();
    // 30 failed attempts, then a success: 1 + 1 + 2 × 30 + 1 = 63 transitions, of which the record keeps 50.
    expect((await submit({ id: 'flaky-1', payload: {}, max_retries: 40 })).status).to.equal(202);
    await page.fill('#search', 'flaky-1');
    await page.click('#job-list tbody tr[data-id="flaky-1"]');
    await page.waitForFunction(() => document.querySelector('#selected-state')?.textContent === 'done', null, { timeout: 20_000 });
    expect(await page.textContent('#timeline-note')).to.equal('showing the last 50 of 63 transitions');
    expect(await page.$$eval('#timeline tbody tr', (trs) => trs.length)).to.equal(50);
    await page.waitForFunction(() => document.querySelector('#job-chart')?.getAttribute('data-current') === 'done');
    await page.waitForFunction(() => document.querySelectorAll('#job-chart .edgeLabel.used').length === 5);
    // Mermaid wraps long labels into lines: the words are compared without the spaces between them.
    const used = await page.$$eval('#job-chart .edgeLabel.used', (labels) => labels.map((label) => label.textContent!.replace(/\s+/g, '')).sort());
    expect(used).to.deep.equal([
      'ATTEMPT_FAILED[hasRetriesLeft]×30',
      'ATTEMPT_SUCCEEDED×1',
      'SLOT_GRANTED×1',
      'SLOT_GRANTED×30',
      'afterretryDelay×30',
    ]);
    expect(pageErrors).to.deep.equal([]);
  });
});
