import { expect } from 'chai';
import { setup, type AnyStateNode } from 'xstate';
import { jobChart } from '../../src/chart/charts.js';
import { toMermaid } from '../../src/chart/mermaid.js';
import { countableHistory, jobPath } from '../../src/debug/job-path.js';
import { HISTORY_LIMIT, type JobState, type Transition } from '../../src/engine/job-record.js';

/** A chart of the job machine's shape, fixed here so that the expected paths stay exact. */
const chart = setup({
  types: { events: {} as { type: 'SLOT_GRANTED' } | { type: 'FAIL' } | { type: 'OK' } },
  guards: { isPermanentError: () => false, hasRetriesLeft: () => false },
  delays: { retryDelay: 10 },
}).createMachine({
  id: 'job',
  initial: 'queued',
  states: {
    queued: { on: { SLOT_GRANTED: 'running' } },
    running: {
      on: {
        OK: 'done',
        FAIL: [
          { guard: 'isPermanentError', target: 'failed' },
          { guard: 'hasRetriesLeft', target: 'backoff' },
          { target: 'failed' },
        ],
      },
    },
    backoff: {
      initial: 'waiting',
      states: {
        waiting: { after: { retryDelay: 'ready' } },
        ready: { on: { SLOT_GRANTED: '#job.running' } },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
});

const move = (from: JobState | null, to: JobState, event: string, attempt: number): Transition => ({
  id: 'a', type: 'simulated', from, to, event, at: 0, attempt, error: null, delay_ms: null, delay_source: null,
});

describe('jobPath: a history rendered onto the chart', () => {
  it('counts each edge of two retries and the final failure, inner backoff edges included', () => {
    const history = [
      move(null, 'queued', 'SUBMIT', 0),
      move('queued', 'running', 'SLOT_GRANTED', 1),
      move('running', 'backoff', 'FAIL', 1),
      move('backoff', 'running', 'SLOT_GRANTED', 2),
      move('running', 'backoff', 'FAIL', 2),
      move('backoff', 'running', 'SLOT_GRANTED', 3),
      move('running', 'failed', 'FAIL', 3),
    ];
    expect(jobPath(chart, history, 2)).to.deep.equal({
      current: 'failed',
      visited: ['queued', 'running', 'backoff', 'backoff_waiting', 'backoff_ready', 'failed'],
      edges: [
        { from: 'queued', to: 'running', label: 'SLOT_GRANTED', count: 1 },
        { from: 'running', to: 'backoff', label: 'FAIL [hasRetriesLeft]', count: 2 },
        { from: 'backoff_waiting', to: 'backoff_ready', label: 'after retryDelay', count: 2 },
        { from: 'backoff_ready', to: 'running', label: 'SLOT_GRANTED', count: 2 },
        { from: 'running', to: 'failed', label: 'FAIL', count: 1 },
      ],
    });
  });

  it('attributes a failure while retries were left to the guard that skips retries', () => {
    const history = [move(null, 'queued', 'SUBMIT', 0), move('queued', 'running', 'SLOT_GRANTED', 1), move('running', 'failed', 'FAIL', 1)];
    expect(jobPath(chart, history, 3).edges).to.deep.equal([
      { from: 'queued', to: 'running', label: 'SLOT_GRANTED', count: 1 },
      { from: 'running', to: 'failed', label: 'FAIL [isPermanentError]', count: 1 },
    ]);
  });

  it('places a job that is still waiting: current state, no edges yet', () => {
    expect(jobPath(chart, [move(null, 'queued', 'SUBMIT', 0)], 3)).to.deep.equal({
      current: 'queued',
      visited: ['queued'],
      edges: [],
    });
    expect(jobPath(chart, [], 3)).to.deep.equal({ current: null, visited: [], edges: [] });
  });

  it('names only edges that the generated chart of the real job machine draws', () => {
    const lines = toMermaid(jobChart).split('\n').map((line) => line.trim());
    const states = Object.keys((jobChart.root as AnyStateNode).states);
    // Every recorded move between two states the machine can make maps to drawn edges.
    for (const node of Object.values(jobChart.root.states) as AnyStateNode[]) {
      for (const transition of [...node.transitions.values()].flat()) {
        const to = transition.target?.[0]?.id.split('.')[1] as JobState | undefined;
        if (!to || !states.includes(to)) continue;
        const history = [move(null, node.key as JobState, 'SUBMIT', 0), move(node.key as JobState, to, transition.eventType, 99)];
        const { edges } = jobPath(jobChart, history, 0);
        expect(edges, `${node.key} → ${to} on ${transition.eventType}`).to.have.length.greaterThan(0);
        for (const edge of edges) expect(lines).to.include(`${edge.from} --> ${edge.to} : ${edge.label}`);
      }
    }
  });

  it('counts a cancel while running once: the move out of running.cancelling does not take the CANCEL again', () => {
    const history = [
      move(null, 'queued', 'SUBMIT', 0),
      move('queued', 'running', 'SLOT_GRANTED', 1),
      move('running', 'running', 'CANCEL', 1),
      move('running', 'cancelled', 'ATTEMPT_FAILED', 1),
    ];
    expect(jobPath(jobChart, history, 3)).to.deep.equal({
      current: 'cancelled',
      visited: ['queued', 'running', 'running_attempting', 'running_cancelling', 'cancelled'],
      edges: [
        { from: 'queued', to: 'running', label: 'SLOT_GRANTED', count: 1 },
        { from: 'running_attempting', to: 'running_cancelling', label: 'CANCEL', count: 1 },
        { from: 'running_cancelling', to: 'cancelled', label: 'ATTEMPT_FAILED', count: 1 },
      ],
    });
  });
});

describe('countableHistory: counts that stay exact when the history was cut at HISTORY_LIMIT', () => {
  /** 40 failed attempts with retries left, a 41st that an operator cancels: 84 transitions. */
  const long: Transition[] = [move(null, 'queued', 'SUBMIT', 0), move('queued', 'running', 'SLOT_GRANTED', 1)];
  for (let attempt = 1; attempt <= 40; attempt++) {
    long.push(move('running', 'backoff', 'ATTEMPT_FAILED', attempt), move('backoff', 'running', 'SLOT_GRANTED', attempt + 1));
  }
  long.push(move('running', 'running', 'CANCEL', 41), move('running', 'cancelled', 'ATTEMPT_FAILED', 41));
  const kept = (history: Transition[]) => history.slice(-HISTORY_LIMIT);
  const counters = (history: Transition[]) => ({ attempts: history.at(-1)!.attempt, attempts_at_retry: 0 });

  it('counts a whole history as it is', () => {
    const history = long.slice(0, 7);
    expect(countableHistory(history, counters(history))).to.deep.equal({ history, total: 7, counted_from: 'history' });
  });

  it('counts ×40 retries, not the ×24 the last 50 transitions hold', () => {
    const shown = kept(long);
    expect(shown).to.have.length(50);
    expect(jobPath(jobChart, shown, 45).edges.find((edge) => edge.to === 'backoff')?.count).to.equal(24);
    const countable = countableHistory(shown, { attempts: 41, attempts_at_retry: 0 });
    expect(countable.total).to.equal(84);
    expect(countable.counted_from).to.equal('attempts');
    expect(jobPath(jobChart, countable.history, 45).edges).to.deep.equal([
      { from: 'queued', to: 'running', label: 'SLOT_GRANTED', count: 1 },
      { from: 'running_attempting', to: 'backoff', label: 'ATTEMPT_FAILED [hasRetriesLeft]', count: 40 },
      { from: 'backoff_waiting', to: 'backoff_ready', label: 'after retryDelay', count: 40 },
      { from: 'backoff_ready', to: 'running', label: 'SLOT_GRANTED', count: 40 },
      { from: 'running_attempting', to: 'running_cancelling', label: 'CANCEL', count: 1 },
      { from: 'running_cancelling', to: 'cancelled', label: 'ATTEMPT_FAILED', count: 1 },
    ]);
  });

  it('gives the whole history\'s counts and length wherever the cut falls', () => {
    for (let length = HISTORY_LIMIT + 1; length <= long.length; length++) {
      const whole = long.slice(0, length);
      const countable = countableHistory(kept(whole), counters(whole));
      expect(countable.total, `cut after ${length}`).to.equal(length);
      expect(jobPath(jobChart, countable.history, 45), `cut after ${length}`).to.deep.equal(jobPath(jobChart, whole, 45));
    }
  });

  it('counts only the shown transitions when an operator RETRY may be in the cut part', () => {
    const shown = kept(long);
    expect(countableHistory(shown, { attempts: 41, attempts_at_retry: 3 })).to.deep.equal({
      history: shown,
      total: null,
      counted_from: 'shown',
    });
  });
});
