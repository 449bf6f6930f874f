import sinon from 'sinon';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startEngine } from '../../src/server.js';
import { manualProcessor } from '../helpers/processors.js';
import { fillDisk, settle, tempFiles } from './support.js';
const LARGE = 'x'.repeat(20_000);
describe('scratch', () => {
  const files = tempFiles();
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => { clock = sinon.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] }); });
  afterEach(async () => { sinon.restore(); await files.cleanup(); });
  for (const workers of [1, 2]) it('w' + workers, async () => {
    const path = files.path();
    const store = files.open({ path });
    const lines: any[] = [];
    const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line)) });
    const config = loadConfig({ WORKERS: String(workers), QUEUE_SIZE: '4', SHUTDOWN_TIMEOUT_MS: '30000' });
    const work = manualProcessor();
    const engine = await startEngine(config, logger, { store, processor: work.processor });
    for (const id of ['a', 'b', 'c']) await engine.queue.submit({ id, payload: null, max_retries: 0 });
    await settle(clock);
    console.log('calls', work.calls.map((c) => c.job.id));
    fillDisk(store);
    work.latest('a').resolve(LARGE);
    await settle(clock);
    console.log('b', (await engine.queue.get('b'))?.state, 'c', (await engine.queue.get('c'))?.state, (await engine.queue.stats()).workers);
    const closing = { report: engine.close(), at: null as number | null };
    void closing.report.then(() => (closing.at = Date.now()));
    await settle(clock);
    console.log('at', closing.at);
    if (workers === 2) {
      await clock.tickAsync(10_000);
      console.log('at', closing.at);
      work.latest('b').resolve(null);
      await settle(clock);
      console.log('at', closing.at);
    }
    await clock.tickAsync(40_000);
    console.log('at', closing.at, JSON.stringify(await closing.report));
    console.log(lines.filter((l) => l.level >= 40 || /job|attempt|writ/.test(l.msg)).map((l) => [l.level, l.msg, l.job_id ?? '']));
    const re = files.open({ path });
    console.log((await re.unfinished()).map((r) => [r.id, r.state]));
  });
});
