// The two charts: the generated Mermaid text, decorated with live counts and the selected job's path, drawn by
// one renderer per chart that never falls behind.
/* global mermaid */
import { showError } from './api.js';

/** The least time between the starts of two renders of one chart: counts arrive every second, or faster. */
export const RENDER_INTERVAL_MS = 500;

/** Each state's description, keyed by its Mermaid id (its path below the root joined with `_`). */
export function collectDescriptions(node, path = [], into = {}) {
  for (const [key, child] of Object.entries(node.states ?? {})) {
    const id = [...path, key].join('_');
    if (child.description) into[id] = child.description;
    collectDescriptions(child, [...path, key], into);
  }
  return into;
}

/**
 * The chart text to draw: the generated text, with live counts in the state names, the selected job's path
 * (a count on each edge label it used) and its current state highlighted. Only decorations are added: every
 * state and edge still comes from the generated text.
 */
export function decorate(base, { counts = {}, path = null, current = null } = {}) {
  const lines = base.replace(/\n$/, '').split('\n');
  const used = new Map((path?.edges ?? []).map((e) => [`${e.from} --> ${e.to} : ${e.label}`, e.count]));
  const out = [];
  for (const line of lines) {
    const declared = /^(\s*)state "([^"]+)" as (\S+)(.*)$/.exec(line);
    const edge = used.get(line.trim());
    if (declared && counts[declared[3]] !== undefined) {
      out.push(`${declared[1]}state "${declared[2]} (${counts[declared[3]]})" as ${declared[3]}${declared[4]}`);
    } else if (edge !== undefined) {
      out.push(`${line} ×${edge}`);
    } else {
      out.push(line);
    }
  }
  // States the text never declares get a declaration carrying their count.
  const header = [];
  for (const [id, count] of Object.entries(counts)) {
    if (!new RegExp(`(^|\\s)${id}(\\s|$)`, 'm').test(base)) continue; // a state this chart does not draw
    if (!lines.some((line) => new RegExp(`state "[^"]*" as ${id}( |$)`).test(line))) {
      header.push(`  state "${id} (${count})" as ${id}`);
    }
  }
  out.splice(1, 0, ...header);
  if (path) {
    // Light fills carry dark text of their own, so that they read in the dark theme too.
    out.push('  classDef visited fill:#dbeafe,stroke:#1d4ed8,stroke-width:2px,color:#111827');
    const visited = path.visited.filter((id) => id !== current);
    if (visited.length > 0) out.push(`  class ${visited.join(',')} visited`);
  }
  if (current) {
    out.push('  classDef current fill:#fde047,stroke:#a16207,stroke-width:4px,color:#111827');
    out.push(`  class ${current} current`);
  }
  return out.join('\n') + '\n';
}

let renderCount = 0;

/**
 * Draws a chart into `container`: one render at a time, at most one start per RENDER_INTERVAL_MS, and always of
 * the latest text asked for. A render that takes longer than counts take to change is still shown (it is newer
 * than what is on screen), and the text asked for meanwhile is drawn next; texts asked for in between are
 * skipped. `onShown(at, meta)` is told the time the data on screen was fetched and what the caller said of it,
 * also when a text equals the one shown.
 */
export function createRenderer(container, { hover = {}, onShown = () => {} } = {}) {
  let shown = null;
  let wanted = null;
  let busy = false;
  let lastStart = -Infinity;
  let timer = null;
  /** Whether a frame was painted since the render was asked for: set just before the render starts. */
  let painted = false;

  function pump() {
    if (busy || timer || !wanted) return;
    if (wanted.text === shown) {
      onShown(wanted.at, wanted.meta);
      wanted = null;
      return;
    }
    // Only counts changed, each to as many digits: the drawn chart's labels are patched, with no render.
    if (shown !== null && sameShape(wanted.text, shown) && patchCounts(container, shown, wanted.text)) {
      const { text, at, meta } = wanted;
      wanted = null;
      shown = text;
      onShown(at, meta);
      return;
    }
    const wait = lastStart + RENDER_INTERVAL_MS - performance.now();
    if (wait > 0) {
      timer = setTimeout(() => ((timer = null), pump()), wait);
      return;
    }
    if (!painted) {
      // A render holds the main thread for 100 ms or more: what the caller just put on screen (a clicked job's
      // panel) is painted first, and the render starts in a task after that frame.
      timer = requestAnimationFrame(() => (timer = setTimeout(() => ((timer = null), (painted = true), pump()))));
      return;
    }
    painted = false;
    const { text, at, meta } = wanted;
    wanted = null;
    busy = true;
    lastStart = performance.now();
    mermaid
      .render(`${container.id}-svg-${++renderCount}`, text)
      .then(({ svg }) => {
        put(container, svg, hover);
        shown = text;
        container.dataset.rendered = String(renderCount);
        onShown(at, meta);
      })
      .catch(showError)
      .finally(() => ((busy = false), pump()));
  }

  return {
    /** Asks for `text` to be drawn; `at` is when its data was fetched (epoch ms); `meta` goes to `onShown`. */
    request(text, at, meta) {
      wanted = { text, at, meta };
      pump();
    },
  };
}

/** The states' labels of a chart text (`state "done (12)" as done`), by state id. */
function stateLabels(text) {
  return new Map([...text.matchAll(/^\s*state "([^"]+)" as (\S+)/gm)].map((match) => [match[2], match[1]]));
}

/** A chart text with each state's count replaced by its number of digits: equal when only counts moved. */
const shapeOf = (text) => text.replace(/^(\s*state "[^"(]*\()(\d+)(\)")/gm, (_, head, digits, tail) => `${head}${digits.length}${tail}`);
const sameShape = (a, b) => shapeOf(a) === shapeOf(b);

/**
 * Rewrites the counts in the drawn chart's state labels from `from` to `to`, as a render of `to` would show
 * them: a render lays the whole chart out again, hundreds of ms of main thread for a changed number. Returns
 * false, changing nothing, when a label is not found as expected (then the chart is rendered).
 */
function patchCounts(container, from, to) {
  const before = stateLabels(from);
  const edits = [];
  for (const [id, label] of stateLabels(to)) {
    const old = before.get(id);
    if (old === label) continue;
    const oldCount = /\((\d+)\)$/.exec(old ?? '')?.[0];
    const newCount = /\((\d+)\)$/.exec(label)?.[0];
    // The innermost element holding the old count: a <p> for a state, a <tspan> for a compound state's title.
    const holder = [...container.querySelectorAll(`g[data-state="${id}"] p, g[data-state="${id}"] tspan`)].find(
      (element) => element.childElementCount === 0 && oldCount && element.textContent.includes(oldCount),
    );
    if (!holder || !newCount) return false;
    edits.push([holder, holder.textContent.replace(oldCount, newCount)]);
  }
  for (const [holder, text] of edits) holder.textContent = text;
  return true;
}

/**
 * The scale a chart is drawn at: Mermaid writes its text at 16 px, and 0.75 keeps it at 12 px, the least that
 * reads at a glance; a chart wider than its panel scrolls rather than shrinks.
 */
export const CHART_SCALE = 0.75;

/**
 * Sizes the SVG to its own width at CHART_SCALE, instead of the panel's width that Mermaid gives it; with
 * `data-fit="true"` on the container (the "whole chart" toggle), to the panel's width.
 */
export function scaleToText(container) {
  const svg = container.querySelector('svg');
  const width = svg?.viewBox?.baseVal?.width;
  if (!width) return;
  svg.removeAttribute('width');
  svg.style.maxWidth = 'none';
  const fit = container.dataset.fit === 'true';
  // Rounded up: a width rounded down would draw the smallest text a fraction of a pixel under its size.
  svg.style.width = fit ? '100%' : `${Math.ceil(width * CHART_SCALE)}px`;
}

/** Puts a rendered SVG in place, with each state's description as hover text and the used edges marked. */
function put(container, svg, hover) {
  container.innerHTML = svg;
  scaleToText(container);
  // Mermaid names the state groups `<svg id>-state-<state id>-<n>`.
  for (const group of container.querySelectorAll('g[id*="-state-"]')) {
    const match = /-state-(.+)-\d+$/.exec(group.id);
    if (!match || group.hasAttribute('data-state')) continue;
    group.setAttribute('data-state', match[1]);
    const description = hover[match[1]];
    if (!description) continue;
    const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    title.textContent = description;
    group.prepend(title);
  }
  for (const label of container.querySelectorAll('.edgeLabel')) {
    if (!/×\d+\s*$/.test(label.textContent)) continue;
    label.classList.add('used');
    // The edge itself, drawn bold: its label and its path share Mermaid's `data-id` (edge0, edge1, …).
    const edgeId = label.querySelector('[data-id]')?.getAttribute('data-id');
    if (edgeId) container.querySelector(`path[data-id="${edgeId}"]`)?.classList.add('used-edge');
  }
}
