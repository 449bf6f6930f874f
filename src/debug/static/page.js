// The console page. Plain browser modules, no build step: they read the service's own JSON and SSE endpoints
// and draw with the Mermaid and uPlot bundles the service serves from node_modules.
//
// Data: /machines/job(.mmd), /machines/supervisor(.mmd) and /types once; /debug/status every second (counts,
// per type too, workers, queue, lifecycle, dispatch); one page of /jobs at a time, searched on the server and
// fetched again as /events (SSE) tells of transitions; /stats/series and /stats/failures on their own timers;
// for the selected job, /jobs/:id, /jobs/:id/history and /debug/jobs/:id/path, and its progress messages.
// /schedules every 5 s. The view (filters, search, page, selected job) lives in the URL's fragment (url-state.js).
/* global mermaid */
import { getJson, getText, showError } from './api.js';
import { setupActions, showDispatch, showJobActions } from './actions.js';
import { createBadge } from './badge.js';
import { collectDescriptions, createRenderer, decorate, scaleToText } from './chart.js';
import { refreshFailures, setupFailures } from './failures.js';
import { filterChanged, loadPage, refreshSoon, setCounts, setupList, transitionArrived, view } from './list.js';
import { progressArrived, refreshSelected, scheduleSelected, selectJob, setupSelected } from './selected.js';
import { setupSchedules } from './schedules.js';
import { setupSeries } from './series.js';
import { readUrlState, writeUrlState } from './url-state.js';

const $ = (selector) => document.querySelector(selector);
const charts = { job: '', supervisor: '' }; // the generated Mermaid texts
const dark = matchMedia('(prefers-color-scheme: dark)').matches;
let status = null;
/** When `status` was asked for (epoch ms), and whether the latest ask was answered. */
let statusAt = 0;
let reachable = false;
let selectedPath = null;
/** The supervisor chart waits for the job chart's first render: the two would share the main thread. */
let jobChartShown = false;
let badge;
let renderers;

mermaid.initialize({
  startOnLoad: false,
  securityLevel: 'strict',
  theme: dark ? 'dark' : 'default',
  flowchart: { htmlLabels: false },
});

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
  if (!jobChartShown) return;
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
    setCounts(status);
    showDispatch(status);
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
  showDispatch(null);
}

/** Once a job chart is on screen: the age of its counts, and the state it highlights (for tests and tools). */
function showJobChart(at, { current }) {
  badge.data(at);
  const chart = $('#job-chart');
  // A newly selected job's state (at first the entry state, queued) is scrolled into view once; after that the
  // user's scrolling stands.
  const focus = current ?? (chart.dataset.current === undefined ? 'queued' : null);
  if (focus && chart.dataset.current !== focus) {
    const node = chart.querySelector(`g[data-state="${focus}"]`);
    if (node) centreOn(chart, node);
  }
  chart.dataset.current = current ?? '';
  if (!jobChartShown) {
    jobChartShown = true;
    drawCharts();
  }
}

/** Scrolls the chart's panel (and only it) so that `node` is in the middle. */
function centreOn(panel, node) {
  const box = node.getBoundingClientRect();
  const frame = panel.getBoundingClientRect();
  panel.scrollLeft += box.left + box.width / 2 - (frame.left + frame.width / 2);
  panel.scrollTop += box.top + box.height / 2 - (frame.top + frame.height / 2);
}

/**
 * After the stream reconnects: transitions were missed while it was down, and the service may have restarted
 * and lost, or pruned, jobs. The page, the status and the selected job are fetched again.
 */
async function reload() {
  await loadPage({ user: true });
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
    transitionArrived(t);
    if (t.id === view.selected) scheduleSelected();
  });
  source.addEventListener('progress', (message) => progressArrived(JSON.parse(message.data)));
}

// ---- the view and the URL ----

/** Shows the filters of the view in their controls. */
function showFilters() {
  $('#state-filter').value = view.state;
  $('#type-filter').value = view.type;
  $('#search').value = view.search;
  $('#created-after').value = view.after;
  $('#created-before').value = view.before;
  $('#error-filter').hidden = !view.error;
  $('#error-filter').textContent = view.error ? `error: ${view.error} ✕` : '';
  const caption = 'live count per state';
  $('#job-chart-caption').textContent = view.type
    ? `${caption} of type ${view.type} · hover a state for its description`
    : `${caption} · hover a state for its description`;
}

/** Takes the view from the URL (at the start, and when a link or Back changes the fragment). */
async function applyUrl() {
  const wanted = readUrlState();
  const typeChanged = wanted.type !== view.type;
  Object.assign(view, wanted);
  showFilters();
  if (typeChanged) (drawCharts(), refreshFailures().catch(showError));
  await loadPage({ user: true });
  if (view.selected) await selectJob(view.selected);
}

function select(id) {
  view.selected = id;
  writeUrlState(view, { push: true });
  selectJob(id).catch(showError);
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
  setupList({ onSelect: select, onViewChange: () => writeUrlState(view) });
  setupSelected({
    onPathChange: (path) => {
      selectedPath = path;
      drawCharts();
    },
    onJobShown: showJobActions,
  });
  setupActions({
    afterAction: () => {
      refreshSoon();
      refreshStatus().catch(showError);
      refreshSelected().catch(showError);
    },
  });
  connect();
  Object.assign(view, readUrlState());
  showFilters();
  // The chart first: it needs only the status and one page of jobs.
  await refreshStatus();
  setInterval(refreshStatus, 1000);
  setupSeries($('#series-chart'));
  setupFailures($('#failures'), () => view.type);
  setupSchedules();
  await loadPage({ user: true });
  if (view.selected) await selectJob(view.selected).catch(showError);
  addEventListener('hashchange', () => applyUrl().catch(showError));
  addEventListener('keydown', shortcut);
  document.body.dataset.ready = 'true';
}

/** Keys that work anywhere but in a text field: "/" goes to the search, Escape closes a confirmation. */
function shortcut(event) {
  const typing = event.target.closest?.('input, select, textarea');
  if (event.key === '/' && !typing) {
    event.preventDefault();
    $('#search').focus();
  } else if (event.key === 'Escape' && !$('#confirm').hidden) {
    $('#confirm-no').click();
  }
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
    filterChanged();
  });
  typeFilter.addEventListener('change', () => {
    view.type = typeFilter.value;
    showFilters();
    filterChanged();
    drawCharts();
    refreshFailures().catch(showError);
  });
  $('#chart-fit').addEventListener('change', (event) => {
    $('#job-chart').dataset.fit = String(event.target.checked);
    scaleToText($('#job-chart'));
  });
  $('#error-filter').addEventListener('click', () => {
    view.error = '';
    showFilters();
    filterChanged();
  });
}

start().catch(showError);
