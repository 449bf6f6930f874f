/**
 * Draws a machine as a Mermaid `stateDiagram-v2`, straight from its definition (via xstate/graph), so the
 * README's diagram, `/machines/job.mmd` and the debug page can never drift from the chart.
 */
import type { AnyStateMachine, AnyTransitionDefinition } from 'xstate';
import { toDirectedGraph, type DirectedGraphNode } from 'xstate/graph';

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

export function toMermaid(machine: AnyStateMachine): string {
  const root = toDirectedGraph(machine);
  const lines = ['stateDiagram-v2'];
  const declare = (node: DirectedGraphNode, indent: string) => {
    const initial = node.stateNode.initial?.target?.[0];
    if (initial) lines.push(`${indent}[*] --> ${mermaidId(initial.id)}`);
    for (const child of node.children) {
      const id = mermaidId(child.id);
      const key = child.stateNode.key;
      if (child.children.length > 0) {
        lines.push(`${indent}state "${key}" as ${id} {`);
        declare(child, `${indent}  `);
        lines.push(`${indent}}`);
      } else if (id !== key) {
        lines.push(`${indent}state "${key}" as ${id}`);
      }
    }
  };
  // Edges from every depth are written at the top level, where Mermaid accepts a transition from a nested
  // state to an outer one (backoff.ready → running). The root's own transitions (events handled in every
  // state) have no box to start from and are left out.
  const connect = (node: DirectedGraphNode) => {
    if (node !== root) {
      const transitions = [...node.edges.map((edge) => edge.transition), ...(node.stateNode.always ?? [])];
      for (const transition of transitions) {
        const target = transition.target?.[0]?.id ?? node.id;
        lines.push(`  ${mermaidId(node.id)} --> ${mermaidId(target)} : ${transitionLabel(transition)}`);
      }
    }
    if (node.stateNode.type === 'final' && node !== root) lines.push(`  ${mermaidId(node.id)} --> [*]`);
    node.children.forEach(connect);
  };
  declare(root, '  ');
  connect(root);
  return lines.join('\n') + '\n';
}
