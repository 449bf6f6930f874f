import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { jobChart, supervisorChart } from '../../src/chart/charts.js';
import { JOB_STATES } from '../../src/engine/job-record.js';
import { allStateNodes, mermaidId, toMermaid, transitionLabel } from '../../src/chart/mermaid.js';
import { withGeneratedBlocks } from '../../src/readme.js';

describe('the public job states', () => {
  it('are exactly the top-level states of the job machine', () => {
    expect([...JOB_STATES]).to.deep.equal(Object.keys(jobChart.root.states));
  });
});

describe('Mermaid chart generation', () => {
  for (const [name, machine] of [['job', jobChart], ['supervisor', supervisorChart]] as const) {
    it(`draws every state and every transition of the ${name} machine`, () => {
      const text = toMermaid(machine);
      const lines = text.split('\n').map((line) => line.trim());
      for (const node of allStateNodes(machine.root).slice(1)) {
        const id = mermaidId(node.id);
        expect(text, `state ${node.id}`).to.match(new RegExp(`(^|\\s)${id}(\\s|$)`, 'm'));
        for (const transition of [...node.transitions.values()].flat().concat(node.always ?? [])) {
          const target = mermaidId(transition.target?.[0]?.id ?? node.id);
          expect(lines, `${node.id} on ${transition.eventType}`).to.include(`${id} --> ${target} : ${transitionLabel(transition)}`);
        }
        if (node.type === 'final') expect(lines).to.include(`${id} --> [*]`);
      }
    });
  }

  it('draws the job chart as expected', () => {
    expect(toMermaid(jobChart)).to.equal(
      [
        'stateDiagram-v2',
        '  [*] --> scheduled',
        '  state "running" as running {',
        '    [*] --> running_attempting',
        '    state "attempting" as running_attempting',
        '    state "cancelling" as running_cancelling',
        '  }',
        '  state "backoff" as backoff {',
        '    [*] --> backoff_waiting',
        '    state "waiting" as backoff_waiting',
        '    state "ready" as backoff_ready',
        '  }',
        '  scheduled --> queued : DUE',
        '  scheduled --> cancelled : CANCEL',
        '  scheduled --> queued : always [runsNow]',
        '  queued --> running : SLOT_GRANTED',
        '  queued --> cancelled : CANCEL',
        '  queued --> queued : RESTORED',
        '  running_attempting --> done : ATTEMPT_SUCCEEDED',
        '  running_attempting --> failed : ATTEMPT_FAILED [isPermanentError]',
        '  running_attempting --> backoff : ATTEMPT_FAILED [hasRetriesLeft]',
        '  running_attempting --> failed : ATTEMPT_FAILED',
        '  running_attempting --> running_cancelling : CANCEL',
        '  running_attempting --> backoff : RESTORED [hasRetriesLeft]',
        '  running_attempting --> failed : RESTORED',
        '  running_cancelling --> cancelled : ATTEMPT_SUCCEEDED',
        '  running_cancelling --> cancelled : ATTEMPT_FAILED',
        '  running_cancelling --> cancelled : RESTORED',
        '  backoff --> cancelled : CANCEL',
        '  backoff_waiting --> backoff_waiting : RESTORED',
        '  backoff_waiting --> backoff_ready : after retryDelay',
        '  backoff_ready --> running : SLOT_GRANTED',
        '  done --> [*]',
        '  failed --> queued : RETRY',
        '  cancelled --> queued : RETRY',
        '',
      ].join('\n'),
    );
  });

  it("matches the README's diagram and config table (run `npm run docs` after changing either source)", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).to.include('```mermaid\n' + toMermaid(jobChart) + '```');
    expect(readme).to.equal(withGeneratedBlocks(readme));
  });
});
