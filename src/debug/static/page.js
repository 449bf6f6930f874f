// The debug page. Plain browser JavaScript, no build step: it reads the service's own JSON and SSE endpoints
// and draws with the Mermaid bundle the service serves from node_modules.
//
// Data: /machines/job(.mmd), /machines/supervisor(.mmd) and /types once; /debug/status every second (counts,
// per type too, workers, queue, lifecycle); /jobs pages once (and once per type chosen in the type filter), then
// /events (SSE) keeps the job list live; for the selected job, /jobs/:id, /jobs/:id/history and
// /debug/jobs/:id/path, and its `event: progress` messages.
/* global mermaid */

const PAGE_SIZE = 50;
/**
 * The most characters of a result the panel shows. RESULT_MAX_BYTES may be up to 16 MiB, and a <pre> that
 * large freezes the page; the rest is at GET /jobs/:id.
 */
const RESULT_SHOWN_CHARS = 20_000;
const $ = (selector) => document.querySelector(selector);
const jobs = new Map(); // id → { id, type, state, attempts, created_at, updated_at }, oldest first
const view = { page: 0, state: '', type: '', search: '', selected: null };
let jobChartBase = '';
let supervisorChartBase = '';
let descriptions = {}; // mermaid id → description
let status = null;
let selectedPath = null;
let renderCount = 0;

mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'default', flowchart: { htmlLabels: false } });

const getJson = async (path) => {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
};
const getText = async (path) => (await fetch(path)).text();

/** Each state's description, keyed by its Mermaid id (its path below the root joined with `_`). */
function collectDescriptions(node, path, into) {
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
function decorate(base, { counts = {}, path = null, current = null } = {}) {
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
    out.push('  classDef visited fill:#dbeafe,stroke:#1d4ed8,stroke-width:2px');
    const visited = path.visited.filter((id) => id !== current);
    if (visited.length > 0) out.push(`  class ${visited.join(',')} visited`);
  }
  if (current) {
    out.push('  classDef current fill:#fde047,stroke:#a16207,stroke-width:4px');
    out.push(`  class ${current} current`);
  }
  return out.join('\n') + '\n';
}

const drawn = new Map(); // container id → text last drawn
async function draw(containerId, text, hover = {}) {
  if (drawn.get(containerId) === text) return;
  drawn.set(containerId, text);
  const { svg } = await mermaid.render(`${containerId}-svg-${++renderCount}`, text);
  if (drawn.get(containerId) !== text) return; // a newer draw overtook this one
  const container = document.getElementById(containerId);
  container.innerHTML = svg;
  // Hover text: a <title> in each state's group. Mermaid names the groups `<svg id>-state-<state id>-<n>`.
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
    if (/×\d+\s*$/.test(label.textContent)) label.classList.add('used');
  }
  container.dataset.rendered = String(renderCount);
}

/** The live counts the job chart shows: the totals, or the chosen type's. */
function chartCounts() {
  if (!view.type) return status.states;
  // /debug/status lists only the types that have jobs: a type with none yet counts 0 everywhere.
  const ofType = status.types?.[view.type] ?? {};
  return Object.fromEntries(Object.keys(status.states).map((state) => [state, ofType[state] ?? 0]));
}

function drawCharts() {
  if (!jobChartBase || !status) return;
  const current = selectedPath?.current ?? null;
  const jobText = decorate(jobChartBase, { counts: chartCounts(), path: selectedPath, current });
  const chart = $('#job-chart');
  chart.dataset.current = current ?? '';
  draw('job-chart', jobText, descriptions).catch(showError);
  const supervisorText = decorate(supervisorChartBase, { current: status.lifecycle });
  draw('supervisor-chart', supervisorText, supervisorDescriptions).catch(showError);
}
let supervisorDescriptions = {};

async function refreshStatus() {
  try {
    status = await getJson('/debug/status');
    $('#lifecycle').textContent = status.lifecycle;
    $('#workers').textContent = `${status.workers.busy} / ${status.workers.total}`;
    $('#queue-used').textContent = `${status.queue.used} / ${status.queue.capacity}`;
    drawCharts();
  } catch (error) {
    showError(error);
  }
}

// ---- the job list: live, filtered, searched, paginated ----

function upsert(job) {
  const known = jobs.get(job.id);
  jobs.set(job.id, { ...known, ...job });
}

function filtered() {
  const result = [];
  for (const job of jobs.values()) {
    if (view.state && job.state !== view.state) continue;
    if (view.type && job.type !== view.type) continue;
    if (view.search && !job.id.includes(view.search)) continue;
    result.push(job);
  }
  return result.reverse(); // newest first
}

let listQueued = false;
function renderList() {
  if (listQueued) return;
  listQueued = true;
  requestAnimationFrame(() => {
    listQueued = false;
    const rows = filtered();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    view.page = Math.min(view.page, pages - 1);
    const body = $('#job-list tbody');
    body.replaceChildren(
      ...rows.slice(view.page * PAGE_SIZE, (view.page + 1) * PAGE_SIZE).map((job) => {
        const tr = document.createElement('tr');
        tr.dataset.id = job.id;
        if (job.id === view.selected) tr.className = 'selected';
        const cells = [[job.id], [job.type], [job.state, `state state-${job.state}`], [job.attempts], [job.updated_at]];
        for (const [text, className] of cells) {
          const td = document.createElement('td');
          const span = document.createElement('span');
          span.textContent = String(text ?? '');
          if (className) span.className = className;
          td.append(span);
          tr.append(td);
        }
        tr.addEventListener('click', () => select(job.id));
        return tr;
      }),
    );
    $('#job-total').textContent = `${rows.length} shown of ${jobs.size}`;
    $('#page-info').textContent = `page ${view.page + 1} / ${pages}`;
  });
}

/**
 * Loads the list's pages, of one type when `type` is set: the first load stops at 20 000 jobs, so a type's older
 * jobs may be missing from it until its own pages are loaded.
 */
async function loadJobs(type = '') {
  const pages = [];
  let cursor = null;
  // Up to 20 000 jobs; newer ones keep arriving over SSE meanwhile.
  for (let i = 0; i < 20; i++) {
    const query = new URLSearchParams({ limit: '1000' });
    if (type) query.set('type', type);
    if (cursor) query.set('cursor', cursor);
    const page = await getJson(`/jobs?${query}`);
    pages.push(...page.jobs);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  let added = false;
  for (const job of pages.reverse()) {
    // A known job's state came over SSE, fresher than this page's: only what SSE may not have told is taken.
    if (jobs.has(job.id)) upsert({ id: job.id, type: job.type, created_at: job.created_at });
    else {
      upsert({ id: job.id, type: job.type, state: job.state, attempts: job.attempts, created_at: job.created_at, updated_at: job.updated_at });
      added = true;
    }
  }
  // Jobs added now may be older than ones SSE added first; the list's order is the order of the map.
  if (added) sortByCreation();
  renderList();
}

/** Puts the map back in creation order (a stable sort: jobs created in the same millisecond keep theirs). */
function sortByCreation() {
  // A job first seen over SSE mid-way and never in a page has no created_at: its last update stands in.
  const created = (job) => job.created_at ?? job.updated_at ?? '';
  const sorted = [...jobs.values()].sort((a, b) => (created(a) < created(b) ? -1 : created(a) > created(b) ? 1 : 0));
  jobs.clear();
  for (const job of sorted) jobs.set(job.id, job);
}

function connect() {
  const source = new EventSource('/events');
  source.onopen = () => {
    $('#connection').textContent = 'live';
    $('#connection').className = 'badge live';
  };
  source.onerror = () => {
    $('#connection').textContent = 'reconnecting…';
    $('#connection').className = 'badge down';
  };
  source.addEventListener('transition', (message) => {
    const t = JSON.parse(message.data);
    const job = { id: t.id, type: t.type, state: t.to, attempts: t.attempt, updated_at: t.at };
    if (t.from === null) job.created_at = t.at; // a submission
    upsert(job);
    renderList();
    if (t.id === view.selected) scheduleSelected();
  });
  // Progress changes no state, so no transition would redraw the panel: it is shown as it arrives.
  source.addEventListener('progress', (message) => {
    const p = JSON.parse(message.data);
    if (p.id !== view.selected) return;
    progressReceived += 1;
    showProgress(p.progress);
  });
}

// ---- the selected job: timeline and path ----

let selectedTimer = null;
/** Progress messages shown for the selected job: a refresh that one overtook does not show its older value. */
let progressReceived = 0;
function scheduleSelected() {
  clearTimeout(selectedTimer);
  selectedTimer = setTimeout(() => refreshSelected().catch(showError), 100);
}

async function select(id) {
  view.selected = id;
  progressReceived = 0;
  renderList();
  await refreshSelected();
}

async function refreshSelected() {
  const id = view.selected;
  if (!id) return;
  const progressBefore = progressReceived;
  const [job, history, path] = await Promise.all([
    getJson(`/jobs/${encodeURIComponent(id)}`),
    getJson(`/jobs/${encodeURIComponent(id)}/history`),
    getJson(`/debug/jobs/${encodeURIComponent(id)}/path`),
  ]);
  if (view.selected !== id) return;
  selectedPath = path;
  $('#selected-id').textContent = id;
  $('#selected-state').textContent = path.state;
  $('#selected-state').className = `state state-${path.state}`;
  $('#selected-retry').textContent = path.next_retry_at ? `next retry at ${path.next_retry_at}` : '';
  $('#selected-type').textContent = job.type;
  if (progressReceived === progressBefore) showProgress(job.progress);
  showResult(job);
  $('#timeline tbody').replaceChildren(
    ...history.transitions.map((t) => {
      const tr = document.createElement('tr');
      const nextRetry = t.delay_ms === null ? '' : new Date(Date.parse(t.at) + t.delay_ms).toISOString();
      const cells = [t.at, t.event, `${t.from ?? '∅'} → ${t.to}`, t.attempt, t.error ?? '', t.delay_ms === null ? '' : `${t.delay_ms} ms`, nextRetry];
      cells.forEach((text, i) => {
        const td = document.createElement('td');
        td.textContent = String(text);
        if (i === 4) td.className = 'error';
        // The delay a target asked for with Retry-After, not one the backoff settings chose.
        if (i === 5 && t.delay_source === 'retry_after') {
          const source = document.createElement('span');
          source.className = 'delay-source';
          source.title = 'the delay the attempt asked for (Retry-After), not the backoff';
          source.textContent = 'Retry-After';
          td.append(' ', source);
        }
        tr.append(td);
      });
      return tr;
    }),
  );
  drawCharts();
}

/** The latest progress the processor reported, as JSON; a dash before the first. */
function showProgress(progress) {
  $('#selected-progress').textContent = progress === null || progress === undefined ? '–' : JSON.stringify(progress);
}

/** A done job's result as indented JSON, or why it was not kept; a dash for any other state. */
function showResult(job) {
  const box = $('#selected-result');
  box.className = '';
  if (job.state !== 'done') {
    box.textContent = '–';
  } else if (job.result_error === 'too_large') {
    box.className = 'error';
    box.textContent = `too_large: ${job.result_bytes} bytes as JSON, over RESULT_MAX_BYTES; not kept`;
  } else if (job.result_error === 'not_json') {
    box.className = 'error';
    box.textContent = 'not_json: the value the processor returned is not JSON; not kept';
  } else if (job.result === null) {
    box.textContent = 'none (the processor returned nothing)';
  } else {
    const text = JSON.stringify(job.result, null, 2);
    box.textContent =
      text.length <= RESULT_SHOWN_CHARS
        ? text
        : `${text.slice(0, RESULT_SHOWN_CHARS)}\n… ${text.length - RESULT_SHOWN_CHARS} more characters: GET /jobs/${job.id}`;
  }
}

function showError(error) {
  console.error(error);
}

// ---- start ----

async function start() {
  const stateFilter = $('#state-filter');
  const typeFilter = $('#type-filter');
  const [jobDefinition, supervisorDefinition, jobText, supervisorText, { types }] = await Promise.all([
    getJson('/machines/job'),
    getJson('/machines/supervisor'),
    getText('/machines/job.mmd'),
    getText('/machines/supervisor.mmd'),
    // The service's types are fixed at its start: read once.
    getJson('/types'),
  ]);
  descriptions = collectDescriptions(jobDefinition, [], {});
  supervisorDescriptions = collectDescriptions(supervisorDefinition, [], {});
  jobChartBase = jobText;
  supervisorChartBase = supervisorText;
  for (const state of Object.keys(jobDefinition.states)) {
    stateFilter.append(new Option(state, state));
  }
  for (const type of types) {
    const option = new Option(type.name, type.name);
    option.title = `${type.kind} · ${type.source}`;
    typeFilter.append(option);
  }
  $('#state-legend').replaceChildren(
    ...Object.entries(descriptions).map(([id, text]) => {
      const tr = document.createElement('tr');
      tr.title = text;
      tr.innerHTML = '<th></th><td></td>';
      tr.children[0].textContent = id;
      tr.children[1].textContent = text;
      return tr;
    }),
  );
  stateFilter.addEventListener('change', () => {
    view.state = stateFilter.value;
    view.page = 0;
    renderList();
  });
  const caption = $('#job-chart-caption').textContent;
  const loadedTypes = new Set();
  typeFilter.addEventListener('change', () => {
    view.type = typeFilter.value;
    view.page = 0;
    $('#job-chart-caption').textContent = view.type ? caption.replace('live count per state', `live count per state of type ${view.type}`) : caption;
    renderList();
    drawCharts();
    // Once per type: SSE keeps its jobs live afterwards.
    const type = view.type;
    if (type && !loadedTypes.has(type)) {
      loadedTypes.add(type);
      loadJobs(type).catch((error) => (loadedTypes.delete(type), showError(error)));
    }
  });
  $('#search').addEventListener('input', (event) => {
    view.search = event.target.value.trim();
    view.page = 0;
    renderList();
  });
  $('#prev').addEventListener('click', () => {
    view.page = Math.max(0, view.page - 1);
    renderList();
  });
  $('#next').addEventListener('click', () => {
    view.page += 1;
    renderList();
  });
  connect();
  await loadJobs();
  await refreshStatus();
  setInterval(refreshStatus, 1000);
  document.body.dataset.ready = 'true';
}

start().catch(showError);
