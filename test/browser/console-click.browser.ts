/**
 * A click on a job shows its panel before the chart draws the job's path: a Mermaid render holds the main
 * thread for 100 ms or more, and it must not delay the frame that shows what was clicked.
 * Run with `npm run test:browser` (needs /usr/bin/chromium: `apt-get install -y chromium`).
 */
import { expect } from 'chai';
import { chromium, type Browser } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/server.js';

/** How long the stubbed render holds the main thread, in ms: longer than any panel's fetches here. */
const RENDER_BLOCKS_MS = 600;

describe('the console in chromium: click → detail', function () {
  let browser: Browser;
  let service: Service;

  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', STORE: 'memory', WORK_MIN_MS: '1', WORK_MAX_MS: '1', FAILURE_RATE: '0' });
    service = await startService(config, createLogger('silent'));
  });

  after(async () => {
    await browser?.close();
    await service?.close();
  });

  it('paints the clicked job panel before the render of its path starts', async () => {
    const url = (path: string) => `http://127.0.0.1:${service.address.port}${path}`;
    for (let i = 1; i <= 3; i++) {
      const submitted = await fetch(url('/jobs'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: `job-${i}`, payload: {} }) });
      expect(submitted.status).to.equal(202);
    }
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(url('/debug'));
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('#job-chart svg');
    await page.waitForFunction(() => document.querySelectorAll('#job-list tbody tr').length === 3);
    // Every render from now on first holds the main thread, as a real render of the path does.
    const ms = await page.evaluate(async (blocks) => {
      const w = window as unknown as { mermaid: { render: (...args: unknown[]) => Promise<unknown> } };
      const render = w.mermaid.render.bind(w.mermaid);
      w.mermaid.render = (...args) => {
        const until = performance.now() + blocks;
        while (performance.now() < until);
        return render(...args);
      };
      const row = document.querySelector('#job-list tbody tr') as HTMLElement;
      const start = performance.now();
      row.click();
      // Checked once per frame, before it is painted: what a user would see.
      while ((document.querySelector('#job-panel') as HTMLElement).dataset.shown !== row.dataset.id) await new Promise((r) => requestAnimationFrame(r));
      return performance.now() - start;
    }, RENDER_BLOCKS_MS);
    expect(ms).to.be.below(RENDER_BLOCKS_MS);
    // The path is still drawn, after the panel.
    await page.waitForSelector('#job-chart g.current[data-state="done"]', { timeout: 10_000 });
    await page.close();
  });
});
