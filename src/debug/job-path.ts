/**
 * A job's path through the chart: which of the chart's edges its history used, and how many times. Pure, so
 * that the debug page and the tests read the same answer from the same history.
 *
 * The history records moves between public (top-level) states, e.g. `backoff → running` on `SLOT_GRANTED`.
 * The chart draws finer edges: that move leaves from `backoff_ready`, and reaching `backoff_ready` took
 * `backoff_waiting → backoff_ready`. So each recorded move is matched to the chart edge with the same event
 * between the same top-level states, and the inner edges that lead from the state's initial child to that
 * edge's source are counted too. The inner state a job is in is followed from move to move, so that a move which
 * leaves from an inner state the job already reached (`running.cancelling`, entered by the recorded CANCEL) does
 * not count the inner edges to it a second time.
 *
 * A record keeps only the latest HISTORY_LIMIT transitions. When the start was cut, `countableHistory` rebuilds
 * the cut part from the record's counters where they determine it, so that the counts stay exact.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { chartEdges, mermaidId, transitionLabel, type ChartEdge } from '../chart/mermaid.js';
import type { JobRecord, Transition } from '../engine/job-record.js';

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

/** The node an edge leads to: its target, or its source for a targetless one. */
const targetOf = (edge: ChartEdge): AnyStateNode => (edge.transition.target?.[0] as AnyStateNode | undefined) ?? edge.source;

/** The inner edges from leaf `start` to `leaf`, both inside top-level `state`, shortest first found (breadth-first). */
function innerRoute(edges: ChartEdge[], state: string, start: AnyStateNode, leaf: AnyStateNode): ChartEdge[] {
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
  // The leaf the job is in: where the last counted edge led. Null before the first move, or when the history
  // starts mid-way; a move then leaves from its state's initial leaf.
  let at: AnyStateNode | null = null;
  for (const transition of history) {
    if (transition.from === null) {
      visited.add(transition.to);
      at = initialLeaf(machine.root.states[transition.to] as AnyStateNode);
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
    const start = at && topLevel(at.id) === transition.from ? at : initialLeaf(machine.root.states[transition.from] as AnyStateNode);
    innerRoute(edges, transition.from, start, edge.source).forEach(take);
    take(edge);
    at = initialLeaf(targetOf(edge));
  }
  const last = history.at(-1);
  return { current: last ? last.to : null, visited: [...visited], edges: [...counts.values()] };
}

/**
 * How a path's counts were made: `history` from a complete history; `attempts` from a cut one whose cut part
 * was rebuilt from the record's `attempts`; `shown` from the shown transitions only (the cut part is unknown).
 */
export type CountedFrom = 'history' | 'attempts' | 'shown';

export interface CountableHistory {
  /** The history to count: the record's, with the cut part put back when `counted_from` is `attempts`. */
  history: Transition[];
  /** How many transitions the job made in all, or null when the cut part is unknown. */
  total: number | null;
  counted_from: CountedFrom;
}

/** Whether a history lost its start to HISTORY_LIMIT: the submission, always first, is gone. */
export const isCut = (history: readonly Transition[]) => history.length > 0 && history[0]!.from !== null;

type Counters = Pick<JobRecord, 'attempts' | 'attempts_at_retry'>;

/**
 * The history to count a job's path from. A complete history is counted as it is. A cut one is rebuilt from
 * the record's counters when they determine the cut part: with no operator RETRY after the first attempt
 * (`attempts_at_retry` 0), the job went once from `queued` to `running`, and every later attempt came after
 * one `running → backoff → running` round, so the first shown transition's `attempt` says how many rounds were
 * cut. Otherwise the cut part is unknown and only the shown transitions are counted.
 *
 * Not covered, as the record holds no counter for them: a restart (RESTORED) inside the cut part; the rounds
 * are then all counted as failed attempts. Exact counts in every case need a per-edge counter in the record.
 */
export function countableHistory(history: readonly Transition[], counters: Counters): CountableHistory {
  if (!isCut(history)) return { history: [...history], total: history.length, counted_from: 'history' };
  const prefix = counters.attempts_at_retry === 0 ? cutPart(history[0]!) : null;
  if (!prefix) return { history: [...history], total: null, counted_from: 'shown' };
  return { history: [...prefix, ...history], total: prefix.length + history.length, counted_from: 'attempts' };
}

/** The transitions before `first`, for a job that has had no operator RETRY; null when they do not follow. */
function cutPart(first: Transition): Transition[] | null {
  const move = (from: Transition['from'], to: Transition['to'], event: string, attempt: number): Transition => ({
    ...first, from, to, event, attempt, error: null, delay_ms: null, delay_source: null,
  });
  // Attempts started before `first`: a move into `running` starts one of its own.
  const startsAttempt = first.to === 'running' && first.from !== 'running';
  const cutAttempts = first.attempt - (startsAttempt ? 1 : 0);
  const moves = [move(null, 'queued', 'SUBMIT', 0)];
  if (cutAttempts >= 1) moves.push(move('queued', 'running', 'SLOT_GRANTED', 1));
  for (let attempt = 1; attempt < cutAttempts; attempt++) {
    moves.push(move('running', 'backoff', 'ATTEMPT_FAILED', attempt), move('backoff', 'running', 'SLOT_GRANTED', attempt + 1));
  }
  switch (first.from) {
    case 'queued':
      return cutAttempts === 0 ? moves : null;
    case 'running':
      if (cutAttempts === 0) return null;
      // Leaving `running` for `cancelled` starts from `running.cancelling`, which a recorded CANCEL entered.
      if (first.to === 'cancelled') moves.push(move('running', 'running', 'CANCEL', cutAttempts));
      return moves;
    case 'backoff':
      if (cutAttempts === 0) return null;
      moves.push(move('running', 'backoff', 'ATTEMPT_FAILED', cutAttempts));
      return moves;
    default:
      // Leaving `failed` or `cancelled` takes an operator RETRY, which attempts_at_retry 0 rules out after an
      // attempt; before one, the cut part is a cancel and RETRY cycle of unknown length.
      return null;
  }
}
