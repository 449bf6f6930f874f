/**
 * A storage outage is visible: one error line when commits start failing and one info line when they succeed
 * again, a failure counter in /metrics, /readyz 503 storage_unavailable meanwhile, and GET /jobs still
 * answering from the file. The service runs in this process on a SQLite file whose disk is "full"
 * (`max_page_count`).
 */
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService, type Service } from '../../src/server.js';
import { fillDisk, tempFiles } from './support.js';

describe('a storage outage', () => {
  const files = tempFiles();
  let service: Service;
  afterEach(async () => {
    await service?.close();
    await files.cleanup();
  });

  it('is logged once when it begins and once when it ends, counted, and shown by /readyz, while GET /jobs answers', async () => {
    const lines: { level: string; msg: string; [field: string]: unknown }[] = [];
    const logger = createLogger('info', { write: (text: string) => void lines.push(JSON.parse(text)) });
    const store = files.open({ path: files.path() });
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', STORE: 'memory', WORKERS: '1', QUEUE_SIZE: '10', WORK_MIN_MS: '60000', WORK_MAX_MS: '60000',
      SHUTDOWN_TIMEOUT_MS: '0',
    });
    service = await startService(config, logger, { store });
    const base = `http://127.0.0.1:${service.address.port}`;
    // 20 KB each: the file must grow to take it, and it may not.
    const submit = (id: string) =>
      fetch(`${base}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, payload: 'x'.repeat(20_000) }),
      });
    const get = async (path: string) => {
      const response = await fetch(base + path);
      return { status: response.status, text: await response.text() };
    };
    const outageLines = () => lines.filter((line) => line.msg.startsWith('job store: commits'));

    expect((await submit('before')).status).to.equal(202);
    fillDisk(store);
    // Each refused submission is a failed commit; the store also retries on its own every 250 ms.
    for (const id of ['a', 'b', 'c']) {
      const refused = await submit(id);
      expect(refused.status).to.equal(503);
      expect(((await refused.json()) as { error: { code: string } }).error.code).to.equal('storage_unavailable');
    }
    expect(await get('/readyz')).to.deep.equal({ status: 503, text: '{"status":"storage_unavailable"}' });
    // A cancel leaves its record in the buffer, unwritten: the list answers from the file, with that record over it.
    await fetch(`${base}/jobs/before/cancel`, { method: 'POST', headers: { 'x-requested-with': 'test' } });
    const listed = await get('/jobs');
    expect(listed.status).to.equal(200);
    const jobs = (JSON.parse(listed.text) as { jobs: { id: string; state: string }[] }).jobs;
    expect(jobs.map(({ id, state }) => ({ id, state }))).to.deep.equal([{ id: 'before', state: 'cancelled' }]);
    const failures = Number(/^jobsvc_store_commit_failures_total (\d+)$/m.exec((await get('/metrics')).text)?.[1]);
    expect(failures).to.be.at.least(3);
    expect(outageLines().map(({ level, msg, reason }) => ({ level, msg, reason }))).to.deep.equal([
      {
        level: 'error',
        msg: 'job store: commits are failing; submissions are refused with 503 storage_unavailable until one succeeds',
        reason: 'database or disk is full',
      },
    ]);

    store.db.pragma('max_page_count = 1073741823');
    expect((await submit('after')).status).to.equal(202);
    expect(await get('/readyz')).to.deep.equal({ status: 200, text: '{"status":"ready"}' });
    expect(outageLines().map(({ level, msg }) => ({ level, msg }))).to.deep.equal([
      {
        level: 'error',
        msg: 'job store: commits are failing; submissions are refused with 503 storage_unavailable until one succeeds',
      },
      { level: 'info', msg: 'job store: commits succeed again' },
    ]);
    expect(outageLines()[1]).to.include.keys('failed_commits', 'outage_ms');
  });
});
