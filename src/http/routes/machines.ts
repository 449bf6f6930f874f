import type Router from '@koa/router';
import { z } from 'zod';
import { jobChart, scheduleChart, supervisorChart } from '../../chart/charts.js';
import { toMermaid } from '../../chart/mermaid.js';
import { documentRoute, jsonReply, textReply } from '../route-docs.js';

/**
 * XState's `toJSON()` of a machine, as much as a client needs to walk its states and transitions. The objects
 * are loose: what XState adds in a later version is not a break.
 */
/** An action: its name, or `{"type","params"}` when the chart gives it parameters. */
const action = z.union([z.string(), z.looseObject({ type: z.string(), params: z.unknown().optional() })]);
const transition = z
  .looseObject({
    eventType: z.string().nullable().meta({ description: 'The event; null for an initial transition.' }),
    source: z.string().meta({ description: 'The state it leaves, as `#machine.state.path`.' }),
    target: z.array(z.string()).optional().meta({ description: 'The states it enters; absent for a targetless transition.' }),
    actions: z.array(action),
    reenter: z.boolean().optional(),
    guard: z.string().optional().meta({ description: 'The guard, by name.' }),
    delay: z.string().optional().meta({ description: 'For a delayed transition: the delay, by name.' }),
  })
  .meta({ id: 'MachineTransition' });
const stateNode = z
  .looseObject({
    id: z.string(),
    key: z.string(),
    type: z.enum(['atomic', 'compound', 'parallel', 'final', 'history']),
    description: z.string().optional(),
    initial: transition.optional(),
    get states(): z.ZodRecord<z.ZodString, typeof stateNode> {
      return z.record(z.string(), stateNode);
    },
    on: z.record(z.string(), z.array(transition)).meta({ description: 'The transitions, by event.' }),
    transitions: z.array(transition),
    entry: z.array(action),
    exit: z.array(action),
    order: z.int(),
    tags: z.array(z.string()),
  })
  .meta({ id: 'MachineStateNode', description: 'A state of the chart, and its child states; the root is the machine.' });

/**
 * `GET /machines/job`, `GET /machines/supervisor`: the machine definitions as JSON (XState's `toJSON()`: every
 * state with its `description`, transitions, guards and actions by name).
 * `GET /machines/job.mmd`, `GET /machines/supervisor.mmd`: the Mermaid `stateDiagram-v2` text, the same text
 * the README's diagram holds.
 */
export function machineRoutes(router: Router): void {
  const charts = { job: jobChart, supervisor: supervisorChart, schedule: scheduleChart };
  for (const [name, machine] of Object.entries(charts)) {
    // Computed once: the machines do not change while the process runs.
    const definition = machine.toJSON();
    const mermaid = toMermaid(machine);
    documentRoute(router, `GET /machines/${name}`, {
      tag: 'debug',
      summary: `The ${name} machine's definition (XState toJSON).`,
      responses: { '200': jsonReply('The definition: the root state node.', stateNode) },
    });
    router.get(`/machines/${name}`, (ctx) => {
      ctx.body = definition;
    });
    documentRoute(router, `GET /machines/${name}.mmd`, {
      tag: 'debug',
      summary: `The ${name} chart as Mermaid stateDiagram-v2 text.`,
      responses: { '200': textReply('The diagram.') },
    });
    router.get(`/machines/${name}.mmd`, (ctx) => {
      ctx.type = 'text/plain';
      ctx.body = mermaid;
    });
  }
}
