/** Payloads reach the log only with LOG_PAYLOADS=true. */
import { expect } from 'chai';
import { createLogger, HIDDEN_PAYLOAD } from '../../src/logger.js';
import { startService, type Service } from './support.js';

function capturing(logPayloads: boolean) {
  const lines: string[] = [];
  const logger = createLogger('trace', { write: (line: string) => void lines.push(line) }, logPayloads);
  return { lines, logger };
}

describe('payloads in the log', () => {
  let service: Service | undefined;
  afterEach(async () => {
    await service?.stop();
    service = undefined;
  });

  it('are hidden wherever a line carries one, unless LOG_PAYLOADS=true', () => {
    const { lines, logger } = capturing(false);
    logger.info({ payload: 'S1', job: { id: 'a', payload: 'S2' }, body: { jobs: [{ payload: 'S3' }] } }, 'line');
    const { time: _time, pid: _pid, hostname: _host, ...fields } = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(fields).to.deep.equal({
      level: 'info',
      payload: HIDDEN_PAYLOAD,
      job: { id: 'a', payload: HIDDEN_PAYLOAD },
      body: { jobs: [{ payload: HIDDEN_PAYLOAD }] },
      msg: 'line',
    });
  });

  it('never appear in a line of a service at trace level, by default', async () => {
    const { lines, logger } = capturing(false);
    service = await startService({ logger, config: { workers: 1, queueSize: 5 } });
    await service.post('/jobs', { id: 'a', payload: { card: 'SECRET-PAYLOAD' } });
    await service.post('/jobs/batch', { jobs: [{ id: 'b', payload: 'SECRET-PAYLOAD' }] });
    await service.post('/jobs', { id: 'c', payload: 1e400 });
    expect(lines.length).to.be.greaterThan(0);
    expect(lines.filter((line) => line.includes('SECRET-PAYLOAD'))).to.deep.equal([]);
  });

  it('go into a debug line of each request body with LOG_PAYLOADS=true', async () => {
    const { lines, logger } = capturing(true);
    service = await startService({ logger, config: { logPayloads: true } });
    await service.post('/jobs', { id: 'a', payload: { card: 'SHOWN' } });
    const bodies = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'request body');
    expect(bodies.map(({ level, method, path, body }) => ({ level, method, path, body }))).to.deep.equal([
      { level: 'debug', method: 'POST', path: '/jobs', body: { id: 'a', payload: { card: 'SHOWN' } } },
    ]);
  });
});
