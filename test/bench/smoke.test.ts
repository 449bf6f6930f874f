import { expect } from 'chai';
import { formatTable, runBench } from '../../bench/harness.js';
import { SCALES } from '../../bench/scale.js';

/**
 * The benchmark harness at tiny sizes (BENCH_SCALE=smoke): it runs, and every row it does not skip has numbers.
 * The figures themselves mean nothing at this size; `npm run bench` is where they are measured. Rows that need
 * wrk or redis-server are skipped, with their reason, when those are not installed; the PostgreSQL rows when the
 * database (BENCH_DATABASE_URL, by default the local `test` one) cannot be reached.
 */
describe('bench harness (smoke)', function () {
  // The PostgreSQL rows start five service processes and two peers' processes, each migrating a schema.
  this.timeout(150_000);

  it('runs every row at tiny sizes and produces numbers', async () => {
    const results = await runBench({ scale: SCALES.smoke });
    expect(results.rows.map((row) => row.id)).to.deep.equal(['1', '2', '3', '3b', '4a', '4b', '4c', '4d', '5', '6', '6b', '7', '8a', '8b', '8c']);
    for (const row of results.rows) {
      if (row.skipped) {
        expect(row.skipped, row.id).to.be.a('string').and.not.equal('');
        continue;
      }
      const numbers = JSON.stringify(row.data).match(/-?\d+(\.\d+)?(e[+-]?\d+)?/g) ?? [];
      expect(numbers, `row ${row.id} has numbers`).to.not.be.empty;
      expect(row.headline, row.id).to.match(/\d/).and.not.include('n/a');
      expect(row.met, row.id).to.be.a('boolean');
    }
    expect(formatTable(results)).to.include('| 2 | Engine CPU per job');
  });

  it('runs only the rows it is asked for (BENCH_ROWS=4)', async () => {
    const results = await runBench({ scale: SCALES.smoke, only: new Set(['4']) });
    expect(results.rows.map((row) => row.id)).to.deep.equal(['4a', '4b', '4c', '4d']);
  });
});
