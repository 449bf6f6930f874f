/**
 * Draws a machine as a Mermaid `stateDiagram-v2`, straight from its definition (its state nodes), so the
 * README's diagram, `/machines/job.mmd` and the debug page can never drift from the chart.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/** A readable label for an event type: XState's generated names are shortened, others kept. */
export function eventLabel(eventType: string): string {
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(eventType);
  if (actor) return `${actor[2]} ${actor[1]}`;
  const delay = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (delay) return `after ${delay[1]}`;
  return eventType === '' ? 'always' : eventType;
}

/** A transition's label: its event, and the guard that chooses it in brackets. */
export function transitionLabel(transition: AnyTransitionDefinition): string {
  const guard = transition.guard as string | { type?: string } | undefined;
  const guardName = typeof guard === 'string' ? guard : guard?.type;
  return eventLabel(transition.eventType) + (guardName ? ` [${guardName}]` : '');
}

/** A state node's Mermaid id: its path below the root joined with `_`, since Mermaid ids are global. */
export function mermaidId(stateNodeId: string): string {
  return stateNodeId.split('.').slice(1).join('_');
}

/** Every state node below `node`, `node` first, depth first. */
export function allStateNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap((child) => allStateNodes(child as AnyStateNode))];
}

/** One transition of the chart, from the state that declares it; targetless ones point back to their source. */
export interface ChartEdge {
  source: AnyStateNode;
  targetId: string;
  transition: AnyTransitionDefinition;
}

/**
 * Every transition of the chart, eventless ones included, in drawing order. The root's own transitions (events
 * handled in every state) have no box to start from and are left out.
 */
export function chartEdges(machine: AnyStateMachine): ChartEdge[] {
  return allStateNodes(machine.root)
    .slice(1)
    .flatMap((source) =>
      [...source.transitions.values()]
        .flat()
        .concat(source.always ?? [])
        .map((transition) => ({ source, transition, targetId: transition.target?.[0]?.id ?? source.id })),
    );
}

export function toMermaid(machine: AnyStateMachine): string {
  const lines = ['stateDiagram-v2'];
  const declare = (node: AnyStateNode, indent: string) => {
    const initial = node.initial?.target?.[0];
    if (initial) lines.push(`${indent}[*] --> ${mermaidId(initial.id)}`);
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      const id = mermaidId(child.id);
      const key = child.key;
      if (Object.keys(child.states).length > 0) {
        lines.push(`${indent}state "${key}" as ${id} {`);
        declare(child, `${indent}  `);
        lines.push(`${indent}}`);
      } else if (id !== key) {
        lines.push(`${indent}state "${key}" as ${id}`);
      }
    }
  };
  declare(machine.root, '  ');
  // Edges from every depth are written at the top level, where Mermaid accepts a transition from a nested
  // state to an outer one (backoff.ready → running).
  const edges = chartEdges(machine);
  for (const node of allStateNodes(machine.root).slice(1)) {
    for (const { transition, targetId } of edges.filter((edge) => edge.source === node)) {
      lines.push(`  ${mermaidId(node.id)} --> ${mermaidId(targetId)} : ${transitionLabel(transition)}`);
    }
    if (node.type === 'final') lines.push(`  ${mermaidId(node.id)} --> [*]`);
  }
  return lines.join('\n') + '\n';
}
