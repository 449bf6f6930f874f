import type Router from '@koa/router';
import { jobChart, scheduleChart, supervisorChart } from '../../chart/charts.js';
import { toMermaid } from '../../chart/mermaid.js';

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
    router.get(`/machines/${name}`, (ctx) => {
      ctx.body = definition;
    });
    router.get(`/machines/${name}.mmd`, (ctx) => {
      ctx.type = 'text/plain';
      ctx.body = mermaid;
    });
  }
}
