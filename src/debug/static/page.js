// The debug page. Plain browser modules, no build step: they read the service's own JSON and SSE endpoints and
// draw with the Mermaid bundle the service serves from node_modules.
//
// Data: /machines/job(.mmd), /machines/supervisor(.mmd) and /types once; /debug/status every second (counts,
// per type too, workers, queue, lifecycle); /jobs pages once (and once per type chosen in the type filter), then
// /events (SSE) keeps the job list live, and each reconnect of it reloads the list and the status; for the
// selected job, /jobs/:id, /jobs/:id/history and /debug/jobs/:id/path, and its `event: progress` messages;
// /schedules every 5 s.
/* global mermaid */
import { fetchJobs, getJson, getText, showError } from './api.js';
import { createBadge } from './badge.js';
import { collectDescriptions, createRenderer, decorate } from './chart.js';
import { jobs, renderList, replaceJobs, setupList, sortByCreation, upsert, view } from './list.js';
import { progressArrived, refreshSelected, scheduleSelected, selectJob, setupSelected } from './selected.js';
import { setupSchedules } from './schedules.js';

const $ = (selector) => document.querySelector(selector);
const charts = { job: '', supervisor: '' }; // the generated Mermaid texts
let status = null;
/** When `status` was asked for (epoch ms), and whether the latest ask was answered. */
let statusAt = 0;
let reachable = false;
let selectedPath = null;
let badge;
let renderers;

mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'default', flowchart: { htmlLabels: false } });

/** The live counts the job chart shows: the totals, or the chosen type's. */
function chartCounts() {
  if (!view.type) return status.states;
  // /debug/status lists only the types that have jobs: a type with none yet counts 0 everywhere.
  const ofType = status.types?.[view.type] ?? {};
  return Object.fromEntries(Object.keys(status.states).map((state) => [state, ofType[state] ?? 0]));
}

function drawCharts() {
  if (!charts.job || !status) return;
  const current = selectedPath?.current ?? null;
  renderers.job.request(decorate(charts.job, { counts: chartCounts(), path: selectedPath, current }), statusAt, { current });
  // A service that does not answer is in no state the supervisor chart could highlight.
  renderers.supervisor.request(decorate(charts.supervisor, { current: reachable ? status.lifecycle : null }), statusAt);
}

async function refreshStatus() {
  const at = Date.now();
  try {
    const fresh = await getJson('/debug/status');
    if (at < statusAt) return; // an older request answered late
    status = fresh;
    statusAt = at;
    reachable = true;
    $('#lifecycle').textContent = status.lifecycle;
    $('#workers').textContent = `${status.workers.busy} / ${status.workers.total}`;
    $('#queue-used').textContent = `${status.queue.used} / ${status.queue.capacity}`;
  } catch (error) {
    showUnreachable();
    showError(error);
  }
  drawCharts();
}

/** The supervisor panel when the service does not answer: what it last said no longer holds. */
function showUnreachable() {
  reachable = false;
  $('#lifecycle').textContent = 'unreachable';
  $('#workers').textContent = '–';
  $('#queue-used').textContent = '–';
}

/** Once a job chart is on screen: the age of its counts, and the state it highlights (for tests and tools). */
function showJobChart(at, { current }) {
  badge.data(at);
  $('#job-chart').dataset.current = current ?? '';
}

// ---- the job list, loaded and reloaded ----

const loadedTypes = new Set();
/** Jobs the stream told of while a reload was fetching: fresher than the reload's pages. */
let toldDuringReload = null;

/** Adds the service's jobs (of one type when `type` is set) to the list; a job the stream told of is kept. */
async function loadJobs(type = '') {
  const pages = await fetchJobs({ type });
  let added = false;
  for (const job of pages.reverse()) {
    // A known job's state came over SSE, fresher than this page's: only what SSE may not have told is taken.
    if (jobs.has(job.id)) upsert({ id: job.id, type: job.type, created_at: job.created_at });
    else {
      upsert(listed(job));
      added = true;
    }
  }
  // Jobs added now may be older than ones SSE added first; the list's order is the order of the map.
  if (added) sortByCreation();
  renderList();
}

const listed = (job) => ({
  id: job.id, type: job.type, state: job.state, attempts: job.attempts, created_at: job.created_at, updated_at: job.updated_at,
});

/**
 * After the stream reconnects: transitions were missed while it was down, and the service may have restarted
 * and lost, or pruned, jobs. The list becomes what the service lists now, plus what the stream told since.
 */
async function reload() {
  const told = (toldDuringReload = new Map());
  try {
    // The chosen type's pages too: the first pages may not reach its older jobs.
    const pages = [...(await fetchJobs()), ...(view.type ? await fetchJobs({ type: view.type }) : [])];
    // Oldest first, as the list keeps them: jobs created in the same millisecond keep their order.
    const fresh = new Map(pages.reverse().map((job) => [job.id, listed(job)]));
    for (const [id, job] of told) fresh.set(id, { ...fresh.get(id), ...job });
    replaceJobs(fresh.values());
    sortByCreation();
    loadedTypes.clear();
    if (view.type) loadedTypes.add(view.type);
  } finally {
    if (toldDuringReload === told) toldDuringReload = null;
  }
  renderList({ user: true });
  await refreshStatus();
  await refreshSelected();
}

function connect() {
  const source = new EventSource('/events');
  let opened = false;
  source.onopen = () => {
    badge.stream('open');
    if (opened) reload().catch(showError);
    opened = true;
  };
  source.onerror = () => {
    badge.stream('down');
    showUnreachable();
    drawCharts();
  };
  source.addEventListener('transition', (message) => {
    const t = JSON.parse(message.data);
    const job = { id: t.id, type: t.type, state: t.to, attempts: t.attempt, updated_at: t.at };
    if (t.from === null) job.created_at = t.at; // a submission
    upsert(job);
    toldDuringReload?.set(t.id, jobs.get(t.id));
    renderList();
    if (t.id === view.selected) scheduleSelected();
  });
  source.addEventListener('progress', (message) => progressArrived(JSON.parse(message.data)));
}

// ---- start ----

async function start() {
  badge = createBadge($('#connection'));
  const [jobDefinition, supervisorDefinition, jobText, supervisorText, { types }] = await Promise.all([
    getJson('/machines/job'),
    getJson('/machines/supervisor'),
    getText('/machines/job.mmd'),
    getText('/machines/supervisor.mmd'),
    // The service's types are fixed at its start: read once.
    getJson('/types'),
  ]);
  const descriptions = collectDescriptions(jobDefinition);
  charts.job = jobText;
  charts.supervisor = supervisorText;
  renderers = {
    job: createRenderer($('#job-chart'), { hover: descriptions, onShown: showJobChart }),
    supervisor: createRenderer($('#supervisor-chart'), { hover: collectDescriptions(supervisorDefinition) }),
  };
  setupFilters(Object.keys(jobDefinition.states), types);
  $('#state-legend').replaceChildren(...Object.entries(descriptions).map(legendRow));
  setupList({ onSelect: (id) => selectJob(id).catch(showError) });
  setupSelected({
    onPathChange: (path) => {
      selectedPath = path;
      drawCharts();
    },
  });
  connect();
  // The chart first: it needs only the status, while the list may take many pages.
  await refreshStatus();
  setInterval(refreshStatus, 1000);
  setupSchedules();
  await loadJobs();
  document.body.dataset.ready = 'true';
}

function legendRow([id, text]) {
  const tr = document.createElement('tr');
  tr.title = text;
  tr.append(document.createElement('th'), document.createElement('td'));
  tr.children[0].textContent = id;
  tr.children[1].textContent = text;
  return tr;
}

function setupFilters(states, types) {
  const stateFilter = $('#state-filter');
  const typeFilter = $('#type-filter');
  for (const state of states) stateFilter.append(new Option(state, state));
  for (const type of types) {
    const option = new Option(type.name, type.name);
    option.title = `${type.kind} · ${type.source}`;
    typeFilter.append(option);
  }
  stateFilter.addEventListener('change', () => {
    view.state = stateFilter.value;
    view.page = 0;
    renderList({ user: true });
  });
  const caption = $('#job-chart-caption').textContent;
  typeFilter.addEventListener('change', () => {
    view.type = typeFilter.value;
    view.page = 0;
    $('#job-chart-caption').textContent = view.type ? caption.replace('live count per state', `live count per state of type ${view.type}`) : caption;
    renderList({ user: true });
    drawCharts();
    // Once per type: SSE keeps its jobs live afterwards.
    const type = view.type;
    if (type && !loadedTypes.has(type)) {
      loadedTypes.add(type);
      loadJobs(type).catch((error) => (loadedTypes.delete(type), showError(error)));
    }
  });
}

start().catch(showError);
