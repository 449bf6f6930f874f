/**
 * End to end in a real browser: the service in-process, Debian's chromium driven by playwright-core, the
 * debug page following a job that fails, retries through `backoff`, and ends `failed`; then the type filter
 * (options from GET /types, the list and the chart's counts per type) and a job's type, live progress, result
 * and Retry-After delay in the selected job's panel; the schedules panel and a schedule's jobs.
 * Run with `npm run test:browser` (needs /usr/bin/chromium: `apt-get install -y chromium`).
 */
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { RetryLaterError } from '../../src/errors.js';
import type { JobTypeDefinition } from '../../src/job-types/job-type.js';
import { createLogger } from '../../src/logger.js';
import type { Processor } from '../../src/processors/processor.js';
import { startService, type Service } from '../../src/server.js';

/** Fails every attempt of `doomed`; every other job succeeds after 50 ms. */
const processor: Processor = (job, { signal }) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => (job.id === 'doomed' ? reject(new Error(`disk full (attempt ${job.attempt})`)) : resolve(undefined)), 50);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))), { once: true });
  });

/** Gates the test opens, by name, so that a `report` job is seen between its steps. */
const gates = new Map<string, { open: () => void; opened: Promise<void> }>();
function gate(name: string) {
  let found = gates.get(name);
  if (!found) {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    found = { open, opened };
    gates.set(name, found);
  }
  return found;
}
const passGate = (name: string, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    gate(name).opened.then(resolve, reject);
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });

const R1_RESULT = { file: 'report.csv', rows: 3, totals: { ok: 3, skipped: 0 } };
/** Too large for RESULT_MAX_BYTES=1024. */
const R2_RESULT = { rows: 'x'.repeat(2000) };

/** Reports step 1, waits for `<id>/1`, reports step 2, waits for `<id>/2`, and returns its result. */
const report: Processor = async (job, ctx) => {
  // Called on ctx: `progress` is a method of the attempt, and loses its `this` when destructured.
  ctx.progress({ step: 1, of: 2 });
  await passGate(`${job.id}/1`, ctx.signal);
  ctx.progress({ step: 2, of: 2 });
  await passGate(`${job.id}/2`, ctx.signal);
  return job.id === 'r-2' ? R2_RESULT : R1_RESULT;
};

/** Asks for a retry in 300 ms (as an HTTP target's 429 with Retry-After would), then succeeds. */
const upstream: Processor = async (job) => {
  if (job.attempt === 1) throw new RetryLaterError('429 from upstream', 300);
  return { ok: true };
};

const types: JobTypeDefinition[] = [
  { name: 'simulated', kind: 'simulated', options: {}, processor, source: 'built-in' },
  // One at a time, so that r-2 waits in `queued` while r-1 runs.
  { name: 'report', kind: 'module', options: { concurrency: 1 }, processor: report, source: 'tasks/report.ts' },
  { name: 'upstream', kind: 'http', options: {}, processor: upstream, source: 'job-types.json' },
];

describe('debug page in chromium', function () {
  let service: Service;
  let browser: Browser;
  let page: Page;
  const url = (path: string) => `http://127.0.0.1:${service.address.port}${path}`;
  /** The paths the page requested from the service. */
  const requested: string[] = [];
  const submit = (body: unknown) =>
    fetch(url('/jobs'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const getJson = async (path: string) => (await fetch(url(path))).json();

  before(async () => {
    const config = loadConfig({
      PORT: '0', HOST: '127.0.0.1', WORKERS: '2', BACKOFF_BASE_MS: '400', BACKOFF_JITTER_MS: '0', LOG_LEVEL: 'silent',
      STORE: 'memory', RESULT_MAX_BYTES: '1024', SHUTDOWN_TIMEOUT_MS: '1000',
    });
    service = await startService(config, createLogger('silent'), { types });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(url(''))) external.push(request.url());
      else requested.push(request.url().slice(url('').length));
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
    // The status that counted the last job done may be a second older than the one that freed its place.
    await page.waitForFunction(() => document.querySelector('#queue-used')?.textContent === '0 / 66', null, { timeout: 3000 }).catch(() => {});
    expect(await page.textContent('#queue-used')).to.equal('0 / 66');
    // Hover text: each state's description.
    const title = await page.$eval('#job-chart g[data-state="backoff"] > title', (t) => t.textContent);
    expect(title).to.match(/retries are left/);

    await page.fill('#search', '');
    await page.screenshot({ path: 'docs/debug.png', fullPage: true });
    expect((page as unknown as { external: string[] }).external).to.deep.equal([]);
  });

  it("filters by type, and shows the selected job's type, live progress, result and Retry-After delay", async () => {
    await page.goto(url('/debug'));
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#job-chart svg');

    /** The list's rows as [id, type, state], top to bottom, once they equal `expected` (or after 5 s). */
    const rows = () =>
      page.$$eval('#job-list tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)));
    const expectRows = async (expected: string[][]) => {
      await page
        .waitForFunction(
          (want) =>
            JSON.stringify([...document.querySelectorAll('#job-list tbody tr')].map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent))) === want,
          JSON.stringify(expected),
          { timeout: 5000 },
        )
        .catch(() => {});
      expect(await rows()).to.deep.equal(expected);
    };
    /** The job chart's counted states ("queued (1) | running (0) | …"), what a failure should show. */
    const chartText = () =>
      page.$eval('#job-chart', (chart) => (chart.textContent?.match(/[a-z_]+ \(\d+\)/g) ?? []).join(' | '));
    const waitForChart = async (...texts: string[]) => {
      await page
        .waitForFunction((want) => want.every((text) => document.querySelector('#job-chart')?.textContent?.includes(text)), texts, { timeout: 5000 })
        .catch(() => {});
      const text = await chartText();
      for (const wanted of texts) expect(text, `the job chart shows ${wanted}`).to.include(wanted);
    };
    const selectType = (type: string) => page.selectOption('#type-filter', type);
    const click = async (id: string) => page.click(`#job-list tbody tr[data-id="${id}"]`);

    // The filter's options: "all types", then each type GET /types lists, in its order.
    const listed = ((await getJson('/types')) as { types: { name: string }[] }).types.map((type) => type.name);
    expect(listed).to.deep.equal(['report', 'simulated', 'upstream']);
    const options = await page.$$eval('#type-filter option', (all) => all.map((option) => [(option as HTMLOptionElement).value, option.textContent]));
    expect(options).to.deep.equal([['', 'all types'], ...listed.map((name) => [name, name])]);

    expect((await submit({ id: 'r-1', type: 'report', payload: { file: 'report.csv' } })).status).to.equal(202);
    expect((await submit({ id: 's-1', payload: {} })).status).to.equal(202);
    expect((await submit({ id: 'r-2', type: 'report', payload: { file: 'big.csv' } })).status).to.equal(202);
    expect((await submit({ id: 'u-1', type: 'upstream', payload: {} })).status).to.equal(202);
    await page.waitForFunction(() => ['r-1', 's-1', 'r-2', 'u-1'].every((id) => document.querySelector(`#job-list tbody tr[data-id="${id}"]`)));

    // Each type's own rows, exactly; the type's pages are fetched with ?type= too.
    await selectType('report');
    await expectRows([['r-2', 'report', 'queued'], ['r-1', 'report', 'running']]);
    expect(requested).to.include('/jobs?limit=50&type=report');
    await selectType('upstream');
    await page.waitForFunction(() => document.querySelector('#job-list tbody tr[data-id="u-1"] td:nth-child(3)')?.textContent === 'done');
    await expectRows([['u-1', 'upstream', 'done']]);
    await selectType('simulated');
    await page.waitForFunction(() => document.querySelector('#job-list tbody tr[data-id="s-1"] td:nth-child(3)')?.textContent === 'done');
    const simulated = ((await getJson('/jobs?type=simulated&limit=1000')) as { jobs: { id: string; state: string }[] }).jobs;
    expect(simulated.map((job) => job.id)).to.include('s-1');
    await expectRows(simulated.map((job) => [job.id, 'simulated', job.state]));
    // With the state filter too.
    await selectType('report');
    await page.selectOption('#state-filter', 'queued');
    await expectRows([['r-2', 'report', 'queued']]);
    await page.selectOption('#state-filter', '');

    // The chart counts the chosen type's jobs only.
    await waitForChart('running (1)', 'queued (1)', 'done (0)');
    expect(await page.textContent('#job-chart-caption')).to.include('of type report');

    // The selected job's type and progress, live: no transition comes between the two steps.
    await click('r-1');
    await page.waitForFunction(() => document.querySelector('#selected-progress')?.textContent === '{"step":1,"of":2}');
    expect(await page.textContent('#selected-type')).to.equal('report');
    expect(await page.textContent('#selected-result')).to.equal('–');
    gate('r-1/1').open();
    await page.waitForFunction(() => document.querySelector('#selected-progress')?.textContent === '{"step":2,"of":2}', null, { timeout: 5000 });

    // Done: its result as indented JSON.
    gate('r-1/2').open();
    await page.waitForFunction(() => document.querySelector('#selected-state')?.textContent === 'done');
    expect(await page.textContent('#selected-result')).to.equal(JSON.stringify(R1_RESULT, null, 2));

    // A result over RESULT_MAX_BYTES: why it was dropped, and its size.
    gate('r-2/1').open();
    gate('r-2/2').open();
    await click('r-2');
    await page.waitForFunction(() => document.querySelector('#selected-state')?.textContent === 'done');
    const r2 = (await getJson('/jobs/r-2')) as { result_error: string; result_bytes: number };
    expect(r2).to.include({ result_error: 'too_large', result_bytes: JSON.stringify(R2_RESULT).length });
    const r2Text = await page.textContent('#selected-result');
    expect(r2Text).to.include('too_large').and.to.include(`${r2.result_bytes} bytes`);
    expect(await page.textContent('#selected-progress')).to.equal('{"step":2,"of":2}');
    await waitForChart('running (0)', 'queued (0)', 'done (2)');

    // The totals again with "all types".
    await selectType('');
    const { states } = (await getJson('/debug/status')) as { states: Record<string, number> };
    expect(states.done).to.be.greaterThan(2);
    await waitForChart(`done (${states.done})`);
    expect(await page.textContent('#job-chart-caption')).not.to.include('of type');

    // A retry delay the attempt asked for says so; a backoff delay (first test) does not.
    await page.fill('#search', 'u-1');
    await click('u-1');
    await page.waitForFunction(() => document.querySelector('#selected-type')?.textContent === 'upstream');
    const timeline = await page.$$eval('#timeline tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(timeline.map((row) => row[2])).to.deep.equal(['∅ → queued', 'queued → running', 'running → backoff', 'backoff → running', 'running → done']);
    expect(timeline.map((row) => row[5])).to.deep.equal(['', '', '300 ms Retry-After', '', '']);
    expect(await page.textContent('#selected-result')).to.equal(JSON.stringify({ ok: true }, null, 2));
    await page.fill('#search', '');

    expect((page as unknown as { external: string[] }).external).to.deep.equal([]);
  });

  it("lists the schedules with their next fire time and last job, and shows a schedule's jobs", async () => {
    const put = await fetch(url('/schedules/tick'), {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ cron: '* * * * * *', overlap: 'allow', payload: { tick: true } }),
    });
    expect(put.status).to.equal(201);
    await page.goto(url('/debug'));
    await page.waitForSelector('body[data-ready="true"]');
    // The first fire's job is in the row once the list refreshes (every 5 s).
    await page.waitForFunction(() => document.querySelector('#schedule-list tr[data-name="tick"] td:nth-child(5)')?.textContent?.startsWith('sched:tick:'), undefined, { timeout: 15_000 });
    const row = await page.$$eval('#schedule-list tr[data-name="tick"] td', (tds) => tds.map((td) => td.textContent));
    expect(row.slice(0, 3)).to.deep.equal(['tick', 'active', '* * * * * * (UTC)']);
    expect(row[3]).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    await page.click('#schedule-list tr[data-name="tick"] button');
    expect(await page.inputValue('#search')).to.equal('sched:tick:');
    await page.waitForFunction(() => document.querySelectorAll('#job-list tbody tr').length > 0);
    const ids = await page.$$eval('#job-list tbody tr', (trs) => trs.map((tr) => tr.querySelector('td')?.textContent ?? ''));
    expect(ids.every((id) => id.startsWith('sched:tick:'))).to.equal(true);
    await fetch(url('/schedules/tick'), { method: 'DELETE' });
    await page.fill('#search', '');
  });
});
