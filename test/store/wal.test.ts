import { statSync } from 'node:fs';
import { expect } from 'chai';
import { WAL_LIMIT_BYTES } from '../../src/store/sqlite-store.js';
import { record, saver, tempFiles } from './support.js';

/** The WAL's size on disk, in bytes. */
const walBytes = (path: string) => statSync(`${path}-wal`).size;

describe('sqlite store: the WAL stays small', () => {
  const files = tempFiles();
  afterEach(() => files.cleanup());
  const payload = 'x'.repeat(1000);

  it('folds a large transaction into the database at once and cuts the WAL back to nothing', async () => {
    const path = files.path();
    const store = files.open({ path });
    const save = saver(store);
    for (let i = 0; i < 1500; i++) save(record(`job-${i}`, 'queued', { payload }), 'new');
    await store.flush();
    expect(walBytes(path)).to.equal(0);
    expect((await store.counts()).queued).to.equal(1500);
  });

  it('keeps the WAL within about a checkpoint plus its limit however much is written in small transactions', async () => {
    const path = files.path();
    const store = files.open({ path });
    const save = saver(store);
    let largest = 0;
    // 4000 commits of about 1.3 KiB each: over 5 MiB through the WAL, which SQLite's defaults would let reach 4 MiB.
    for (let i = 0; i < 4000; i++) {
      save(record(`job-${i}`, 'queued', { payload }), 'new');
      await store.flush();
      largest = Math.max(largest, walBytes(path));
    }
    expect(largest).to.be.at.most(WAL_LIMIT_BYTES + 64 * 1024);
    expect(largest).to.be.at.least(256 * 1024); // it was written to, and measured
  });
});
