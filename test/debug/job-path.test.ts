import { expect } from 'chai';
import { setup, type AnyStateNode } from 'xstate';
import { jobChart } from '../../src/chart/charts.js';
import { toMermaid } from '../../src/chart/mermaid.js';
import { jobPath } from '../../src/debug/job-path.js';
import type { JobState, Transition } from '../../src/engine/job-record.js';

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
});
