/**
 * The names `GET /metrics` exposes: the service's own under one prefix, and nothing that Prometheus' own linter
 * (`promtool check metrics`) complains about. The promtool test needs the binary: `.ci/run` installs it and sets
 * PROMTOOL; elsewhere it runs when `promtool` is on the PATH, and is skipped (saying so) when it is not.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { createMetrics, DROPPED_PROCESS_METRICS, METRIC_PREFIX } from '../../src/metrics.js';
import { startService, type Service } from './support.js';

/** `# TYPE name kind` lines, as [name, kind]. */
const declaredTypes = (text: string) =>
  [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1]!, match[2]!] as const);

/** The promtool to run: PROMTOOL, else the one on the PATH; undefined when there is none. */
function findPromtool(): string | undefined {
  if (process.env.PROMTOOL) return process.env.PROMTOOL;
  return spawnSync('promtool', ['--version']).status === 0 ? 'promtool' : undefined;
}

describe('metric names', () => {
  let service: Service;
  let exposition: string;
  before(async () => {
    service = await startService({ config: { workers: 1, queueSize: 2 } });
    // Some of everything: an admission, an attempt that ends, a rejection, a request per kind of status.
    await service.post('/jobs', { id: 'a' });
    service.work.fail('a', 'boom');
    await service.post('/jobs', { id: 'a', payload: 1 });
    await service.get('/nowhere');
    exposition = (await service.get('/metrics')).text;
  });
  after(() => service.stop());

  it("prefixes every metric of the service's own with jobsvc_", () => {
    const metrics = createMetrics(service.queue);
    const own = metrics.registry.getMetricsAsArray().map((metric) => metric.name);
    metrics.close();
    expect(own).to.have.length.greaterThan(10);
    expect(own.filter((name) => !name.startsWith(METRIC_PREFIX))).to.deep.equal([]);
  });

  it('gives _total to counters only, and drops the default gauges that had it', () => {
    const types = declaredTypes(exposition);
    expect(types.filter(([name, kind]) => kind !== 'counter' && name.endsWith('_total'))).to.deep.equal([]);
    expect(types.map(([name]) => name)).to.include.members(['jobsvc_workers', 'nodejs_active_handles']);
    expect(types.map(([name]) => name)).to.not.include.members([...DROPPED_PROCESS_METRICS]);
  });

  it('passes promtool check metrics with no complaint', function () {
    const promtool = findPromtool();
    if (!promtool) {
      if (process.env.CI) throw new Error('CI runs promtool: .ci/run installs it and sets PROMTOOL.');
      console.log('      (promtool not installed: skipped; .ci/run installs it)');
      this.skip();
    }
    // promtool exits 1 and prints one line per problem; stderr is where it writes them.
    const result = spawnSync(promtool, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    expect({ status: result.status, complaints: (result.stdout + result.stderr).trim() }).to.deep.equal({
      status: 0,
      complaints: '',
    });
  });
});
