// The selected job's panel: its details (detail.js), timeline, path and actions, refreshed on each of its
// transitions. A job the server no longer has (pruned by retention, or lost to a restart) clears the panel and
// says so.
import { getJson, HttpError, showError } from './api.js';
import { clearDetail, showDetail } from './detail.js';
import { markSelected, removeJob, renderList, view } from './list.js';

export const GONE_TEXT = 'job no longer exists (pruned or lost)';

const $ = (selector) => document.querySelector(selector);
let onPath = () => {};
let onJob = () => {};
let selectedTimer = null;
/** Progress messages shown for the selected job: a refresh that one overtook does not show its older value. */
let progressReceived = 0;

/**
 * `onPathChange(path)` is told the selected job's path, or null when none is to be drawn; `onJobShown(job)`
 * the job now shown (null for none), for the actions that depend on its state.
 */
export function setupSelected({ onPathChange, onJobShown }) {
  onPath = onPathChange;
  onJob = onJobShown;
}

export async function selectJob(id) {
  view.selected = id;
  progressReceived = 0;
  markSelected();
  await refreshSelected();
}

/** A transition of the selected job: its panel is refreshed once the burst is over. */
export function scheduleSelected() {
  clearTimeout(selectedTimer);
  selectedTimer = setTimeout(() => refreshSelected().catch(showError), 100);
}

/** Progress changes no state, so no transition would redraw the panel: it is shown as it arrives. */
export function progressArrived(message) {
  if (message.id !== view.selected) return;
  progressReceived += 1;
  showProgress(message.progress);
}

export async function refreshSelected() {
  const id = view.selected;
  if (!id) return;
  const progressBefore = progressReceived;
  let job, history, path;
  try {
    [job, history, path] = await Promise.all([
      getJson(`/jobs/${encodeURIComponent(id)}`),
      getJson(`/jobs/${encodeURIComponent(id)}/history`),
      getJson(`/debug/jobs/${encodeURIComponent(id)}/path`),
    ]);
  } catch (error) {
    if (view.selected === id && error instanceof HttpError && error.status === 404) return showGone(id);
    throw error;
  }
  if (view.selected !== id) return;
  $('#selected-id').textContent = id;
  $('#selected-state').textContent = path.state;
  $('#selected-state').className = `state state-${path.state}`;
  $('#selected-retry').textContent = path.next_retry_at ? `next retry at ${path.next_retry_at}` : '';
  if (progressReceived === progressBefore) showProgress(job.progress);
  showDetail(job, history.transitions);
  $('#timeline-note').textContent = historyNote(path.history);
  $('#timeline tbody').replaceChildren(...history.transitions.map(timelineRow));
  document.querySelector('#job-panel').dataset.shown = id;
  onJob(job);
  onPath(path);
}

/** Says when the timeline is not the whole history: the record keeps only the latest transitions. */
function historyNote({ shown, total, counted_from: countedFrom }) {
  if (countedFrom === 'history') return '';
  if (total === null) {
    return `showing the last ${shown} transitions; earlier ones were dropped, and the chart counts only these`;
  }
  return `showing the last ${shown} of ${total} transitions`;
}

/** The panel of a job the server answered 404 for: nothing of the previous job stays on screen. */
function showGone(id) {
  $('#selected-id').textContent = id;
  $('#selected-state').textContent = '';
  $('#selected-state').className = '';
  $('#selected-retry').textContent = GONE_TEXT;
  showProgress(null);
  clearDetail();
  $('#timeline-note').textContent = '';
  $('#timeline tbody').replaceChildren();
  document.querySelector('#job-panel').dataset.shown = id;
  onJob(null);
  onPath(null);
  removeJob(id);
  renderList();
}

function timelineRow(t) {
  const tr = document.createElement('tr');
  const nextRetry = t.delay_ms === null ? '' : new Date(Date.parse(t.at) + t.delay_ms).toISOString();
  const cells = [t.at, t.event, `${t.from ?? '∅'} → ${t.to}`, t.attempt, t.error ?? '', t.delay_ms === null ? '' : `${t.delay_ms} ms`, nextRetry];
  cells.forEach((text, i) => {
    const td = document.createElement('td');
    td.textContent = String(text);
    if (i === 0) td.title = new Date(Date.parse(t.at)).toLocaleString();
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
}

/** The latest progress the processor reported, as JSON; a dash before the first. */
function showProgress(progress) {
  $('#selected-progress').textContent = progress === null || progress === undefined ? '–' : JSON.stringify(progress);
}
