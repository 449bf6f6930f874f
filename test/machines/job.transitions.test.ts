import { expect } from 'chai';
import type { AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { jobChart } from '../../src/chart/charts.js';
import { JOB_INITIAL_STATE, JOB_LEAF_STATES, JOB_TRANSITIONS, type TransitionRow } from './job.transitions.js';

/**
 * The job chart against its checked-in table (job.transitions.ts). The path tests (job.paths.test.ts) replay
 * the machine against itself, so a wrong target or guard there is simply a different path; here every leaf
 * state's transitions are read from the machine's state nodes and must equal the table, row for row.
 */
describe('job machine: the transitions equal the checked-in table', () => {
  // The chart as it is drawn: transitions do not depend on the dependencies, so the inert ones will do.
  const machine = jobChart;

  const name = (node: AnyStateNode) => node.path.join('.');
  const leaves = (node: AnyStateNode): AnyStateNode[] => {
    const children = Object.values(node.states) as AnyStateNode[];
    return children.length === 0 ? [node] : children.flatMap(leaves);
  };
  /** The leaf a transition into `node` ends in: a compound state is entered through its initial state. */
  const entered = (node: AnyStateNode): AnyStateNode => {
    if (node.type === 'atomic' || node.type === 'final') return node;
    if (node.type !== 'compound') expect.fail(`${name(node)} is ${node.type}: teach this test that kind of state`);
    return entered(node.initial.target[0]!);
  };
  const guardName = (transition: AnyTransitionDefinition): string | undefined => {
    const guard: unknown = transition.guard;
    if (guard === undefined || typeof guard === 'string') return guard;
    return expect.fail(`an inline or composed guard on ${transition.eventType}: name it, or teach this test`);
  };
  const eventName = (type: string) => type.replace(/^xstate\.after\.([^.]+)\..*$/, 'after $1');

  /** Every state from a leaf up to the root: where its transitions for an event are looked for, in order. */
  const ancestry = (leaf: AnyStateNode) => {
    const nodes: AnyStateNode[] = [];
    for (let node: AnyStateNode | undefined = leaf; node; node = node.parent) nodes.push(node);
    return nodes;
  };

  /** The machine's rows: for each leaf, event and outcome of the guards involved, the transition taken. */
  function machineRows(): TransitionRow[] {
    const rows: TransitionRow[] = [];
    for (const leaf of leaves(machine.root)) {
      const nodes = ancestry(leaf);
      const events = new Set(nodes.flatMap((node) => [...node.transitions.keys(), ...(node.always?.length ? ['always'] : [])]));
      for (const event of events) {
        // The eventless transitions (`always`) are kept apart from the ones an event takes.
        const candidates = nodes.flatMap((node) => (event === 'always' ? (node.always ?? []) : (node.transitions.get(event) ?? [])));
        const guards = [...new Set(candidates.map(guardName).filter((guard) => guard !== undefined))];
        for (let outcomes = 0; outcomes < 2 ** guards.length; outcomes++) {
          // Guard i is true when bit (n − 1 − i) is clear: all-true first, as the table lists them.
          const when = Object.fromEntries(guards.map((guard, i) => [guard, (outcomes & (1 << (guards.length - 1 - i))) === 0]));
          const taken = candidates.find((candidate) => {
            const guard = guardName(candidate);
            return guard === undefined || when[guard];
          });
          if (!taken) {
            rows.push({ from: name(leaf), event: eventName(event), ...(guards.length ? { when } : {}), to: '(not taken)' });
            continue;
          }
          if (!taken.target || taken.target.length !== 1) expect.fail(`${name(leaf)} ${event}: not one target`);
          rows.push({
            from: name(leaf),
            event: eventName(event),
            ...(guards.length ? { when } : {}),
            to: name(entered(taken.target[0]!)),
            ...(taken.reenter ? { reenter: true as const } : {}),
          });
        }
      }
    }
    return rows;
  }

  /** A row as one line, so that a difference reads as the rows that differ. */
  const line = ({ from, event, when, to, reenter }: TransitionRow) => {
    // Guards in name order: what is compared is each guard's outcome, not the order the chart lists them in.
    const outcomes = Object.entries(when ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
    const outcome = when ? ` [${outcomes.map(([guard, holds]) => (holds ? guard : `!${guard}`)).join(' ')}]` : '';
    return `${from} ${event}${outcome} → ${to}${reenter ? ' (reenter)' : ''}`;
  };

  it('has the leaf states and the initial state of the table', () => {
    const states = Object.fromEntries(leaves(machine.root).map((leaf) => [name(leaf), leaf.type]));
    expect(states).to.deep.equal(JOB_LEAF_STATES);
    expect(name(entered(machine.root))).to.equal(JOB_INITIAL_STATE);
  });

  it('has exactly the transitions of the table: each source, event and guard outcome leads to its target', () => {
    expect(machineRows().map(line).sort()).to.deep.equal(JOB_TRANSITIONS.map(line).sort());
  });

  it('lists each source, event and guard outcome in the table once', () => {
    const keys = JOB_TRANSITIONS.map((row) => line({ ...row, to: '', reenter: undefined }));
    expect(keys.filter((key, i) => keys.indexOf(key) !== i)).to.deep.equal([]);
  });
});
