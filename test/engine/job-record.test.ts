import { expect } from 'chai';
import type { JobContext } from '../../machines/job.machine.js';
import { JOB_FIELDS } from '../../src/engine/job-fields.js';
import { contextOf, newRecord, updateRecord, type Transition } from '../../src/engine/job-record.js';

/** A context whose every field has a value of its own, so a field left out cannot go unseen. */
const context = (n: number): JobContext => ({
  id: 'job', type: 'simulated', payload: { n }, max_retries: n + 1, priority: n + 11, next_run_at: n + 12, attempts: n + 2, attempts_at_retry: n + 3,
  last_error: `e${n}`, created_at: n + 4, updated_at: n + 5, started_at: n + 6, finished_at: n + 7,
  next_retry_at: n + 8, last_delay_ms: n + 9, last_delay_source: n % 2 === 0 ? 'backoff' : 'retry_after',
  result: { r: n }, result_error: n % 2 === 0 ? 'too_large' : 'not_json', result_bytes: n + 10,
  cancel_requested: n % 2 === 0,
});

describe('job record', () => {
  const history: Transition[] = [];

  it('newRecord copies every field of the context', () => {
    expect(newRecord(context(1), 'running', history)).to.deep.equal({ ...context(1), state: 'running', progress: null, history });
  });

  it('updateRecord rewrites every field of the context in place, and keeps the history', () => {
    const record = newRecord(context(1), 'running', history);
    updateRecord(record, context(2), 'backoff');
    expect(record).to.deep.equal({ ...context(2), state: 'backoff', progress: null, history });
    expect(record.history).to.equal(history);
  });

  it('contextOf gives back exactly the fields of the context a record was made from', () => {
    expect(contextOf(newRecord(context(3), 'done', history))).to.deep.equal(context(3));
  });

  it('JOB_FIELDS names every field of the context, once', () => {
    expect([...JOB_FIELDS].sort()).to.deep.equal(Object.keys(context(1)).sort());
  });
});
