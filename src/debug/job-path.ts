/**
 * A job's path through the chart: which of the chart's edges its history used, and how many times. Pure, so
 * that the debug page and the tests read the same answer from the same history.
 *
 * The history records moves between public (top-level) states, e.g. `backoff → running` on `SLOT_GRANTED`.
 * The chart draws finer edges: that move leaves from `backoff_ready`, and reaching `backoff_ready` took
 * `backoff_waiting → backoff_ready`. So each recorded move is matched to the chart edge with the same event
 * between the same top-level states, and the inner edges that lead from the state's initial child to that
 * edge's source are counted too.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { chartEdges, mermaidId, transitionLabel, type ChartEdge } from '../chart/mermaid.js';
import type { Transition } from '../engine/job-record.js';

/** One edge of the Mermaid chart, named exactly as `toMermaid` writes it: `from --> to : label`. */
export interface PathEdge {
  from: string;
  to: string;
  label: string;
  /** How many times the job took it. */
  count: number;
}

export interface JobPath {
  /** The Mermaid id of the state the job is in now (its last transition's target), or null without history. */
  current: string | null;
  /** Mermaid ids of every state the path touched, in the order first reached. */
  visited: string[];
  /** The edges taken, in the order first taken. */
  edges: PathEdge[];
}

const topLevel = (stateNodeId: string) => stateNodeId.split('.')[1];

/** The leaf a state enters first: its initial child, recursively. */
function initialLeaf(node: AnyStateNode): AnyStateNode {
  const initial = node.initial?.target?.[0] as AnyStateNode | undefined;
  return initial ? initialLeaf(initial) : node;
}

/**
 * Several edges can carry the same event between the same two states, told apart by their guards (here
 * `running → failed` on an attempt error: `isPermanentError`, or the fallback once retries ran out). The history
 * keeps no guard, so the attempt decides: a failure while retries were left can only be a guarded edge; the
 * unguarded fallback is taken only once `attempt > maxRetries`.
 */
function pick(candidates: ChartEdge[], transition: Transition, maxRetries: number): ChartEdge {
  if (candidates.length === 1) return candidates[0]!;
  const fallback = candidates.find((edge) => !edge.transition.guard);
  const guarded = candidates.find((edge) => edge.transition.guard);
  if (fallback && transition.attempt > maxRetries) return fallback;
  return guarded ?? candidates[0]!;
}

/** The inner edges from `state`'s initial leaf to `leaf`, shortest first found (breadth-first). */
function innerRoute(edges: ChartEdge[], state: string, leaf: AnyStateNode, root: AnyStateNode): ChartEdge[] {
  const start = initialLeaf(root.states[state] as AnyStateNode);
  if (start.id === leaf.id) return [];
  const inner = edges.filter((edge) => topLevel(edge.source.id) === state && topLevel(edge.targetId) === state);
  const cameFrom = new Map<string, ChartEdge | null>([[start.id, null]]);
  const pending = [start.id];
  while (pending.length > 0) {
    const at = pending.shift()!;
    if (at === leaf.id) break;
    for (const edge of inner.filter((e) => e.source.id === at)) {
      if (cameFrom.has(edge.targetId)) continue;
      cameFrom.set(edge.targetId, edge);
      pending.push(edge.targetId);
    }
  }
  const route: ChartEdge[] = [];
  for (let edge = cameFrom.get(leaf.id); edge; edge = cameFrom.get(edge.source.id)) route.unshift(edge);
  return route;
}

/**
 * Maps a job's history (oldest first, as `JobRecord.history`) onto the chart of `machine`. A move the chart has
 * no edge for is skipped (it cannot happen while the history comes from the same machine).
 */
export function jobPath(machine: AnyStateMachine, history: readonly Transition[], maxRetries: number): JobPath {
  const edges = chartEdges(machine);
  const counts = new Map<string, PathEdge>();
  const visited = new Set<string>();
  const take = (edge: ChartEdge) => {
    const from = mermaidId(edge.source.id);
    const to = mermaidId(edge.targetId);
    const label = transitionLabel(edge.transition);
    const key = `${from} --> ${to} : ${label}`;
    const counted = counts.get(key) ?? { from, to, label, count: 0 };
    counted.count++;
    counts.set(key, counted);
    visited.add(from).add(to);
  };
  for (const transition of history) {
    if (transition.from === null) {
      visited.add(transition.to);
      continue;
    }
    const candidates = edges.filter(
      (edge) =>
        edge.transition.eventType === transition.event &&
        topLevel(edge.source.id) === transition.from &&
        topLevel(edge.targetId) === transition.to,
    );
    if (candidates.length === 0) continue;
    const edge = pick(candidates, transition, maxRetries);
    innerRoute(edges, transition.from, edge.source, machine.root).forEach(take);
    take(edge);
  }
  const last = history.at(-1);
  return { current: last ? last.to : null, visited: [...visited], edges: [...counts.values()] };
}
