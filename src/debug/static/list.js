// The job list: one page of the service's own search (GET /jobs with state, type, id prefix and error), kept
// live: a transition updates its row in place at once, and the page is asked for again at most once a second.
//
// Rows are kept per job and updated in place, so that a row under the pointer is the same element from the
// press to the release. While the pointer is over the list, or a row has the keyboard's focus, a fresh page
// only updates the cells of the rows shown: rows are added, removed and reordered once the pointer leaves. The
// "pause live updates" toggle freezes the list altogether. What the user does (filter, search, page) applies
// at once.
import { getJson, showError } from './api.js';

export const PAGE_SIZE = 50;
/** The least time between two fetches of the page that live updates ask for, in ms. */
const REFRESH_MS = 1000;

/** What the list shows: filters, the page (its number, and the cursor it starts at), the selection. */
export const view = {
  page: 0, cursor: null, state: '', type: '', search: '', error: '', after: '', before: '', selected: null, paused: false,
};
/** The cursors of the pages before this one, to go back. */
let earlier = [];
/** The latest page: its jobs by id (updated by the stream), their order, and the cursor after it. */
const latest = { jobs: new Map(), order: [], next: null };
let counts = null; // the status's per-state counts, for the total

const rows = new Map(); // id → its <tr>, for the rows shown
let held = false;
let heldUpdates = 0;
let queued = null; // the render asked for this frame: 'live' or 'user'
let elements = null;
let refreshTimer = null;
let lastFetch = 0;
let fetchSeq = 0;
let onChange = () => {};

/** The GET /jobs query of the view. */
export function listQuery() {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (view.state) query.set('state', view.state);
  if (view.type) query.set('type', view.type);
  if (view.search) query.set('id_prefix', view.search);
  if (view.error) query.set('last_error', view.error);
  // The time range's inputs are in local time (datetime-local); the service takes ISO-8601 with a zone.
  if (view.after) query.set('created_after', new Date(view.after).toISOString());
  if (view.before) query.set('created_before', new Date(view.before).toISOString());
  if (view.cursor) query.set('cursor', view.cursor);
  return query;
}

/** Fetches the view's page; a later fetch wins over an earlier one that answers late. */
export async function loadPage({ user = false } = {}) {
  const seq = ++fetchSeq;
  lastFetch = Date.now();
  const page = await getJson(`/jobs?${listQuery()}`);
  if (seq !== fetchSeq) return;
  latest.jobs = new Map(page.jobs.map((job) => [job.id, listed(job)]));
  latest.order = page.jobs.map((job) => job.id);
  latest.next = page.next_cursor;
  renderList({ user });
}

const listed = (job) => ({ id: job.id, type: job.type, state: job.state, attempts: job.attempts, updated_at: job.updated_at });

/** A transition from the stream: its row changes at once, and the page is fetched again soon. */
export function transitionArrived(t) {
  const job = latest.jobs.get(t.id);
  if (job) Object.assign(job, { state: t.to, attempts: t.attempt, updated_at: t.at });
  renderList();
  refreshSoon();
}

/** Fetches the page again within REFRESH_MS (at once if the last fetch is older). */
export function refreshSoon() {
  if (refreshTimer) return;
  const wait = Math.max(0, lastFetch + REFRESH_MS - Date.now());
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    if (view.paused) return;
    loadPage().catch(showError);
  }, wait);
}

/** The per-state counts of the latest status, for "N shown of M". */
export function setCounts(status) {
  counts = status;
  // Paused, the total stays with the rows it counts.
  if (elements && !view.paused) showTotal();
}

/** A job that the service no longer has leaves the page. */
export function removeJob(id) {
  latest.jobs.delete(id);
  latest.order = latest.order.filter((other) => other !== id);
}

/**
 * Asks for the list to be drawn at the next frame. `user` for what the user asked (a filter, a page): it
 * applies even while the list is held or paused.
 */
export function renderList({ user = false } = {}) {
  if (queued === 'user' || (queued && !user)) return;
  const first = queued === null;
  queued = user ? 'user' : 'live';
  if (first) requestAnimationFrame(drawList);
}

function drawList() {
  const user = queued === 'user';
  queued = null;
  if (view.paused && !user) return showHeld();
  if (held && !user) {
    heldUpdates += 1;
    for (const [id, tr] of rows) fillRow(tr, latest.jobs.get(id) ?? tr.job);
    return showHeld();
  }
  heldUpdates = 0;
  reconcile(latest.order.map((id) => latest.jobs.get(id)).filter(Boolean));
  showTotal();
  elements.pageInfo.textContent = `page ${view.page + 1}`;
  elements.prev.disabled = view.page === 0;
  elements.next.disabled = latest.next === null;
  showHeld();
}

/** "N shown of M": M is the service's count for the filter, or "a search" for an id prefix or an error. */
function showTotal() {
  let total = '…';
  if (view.search || view.error || view.after || view.before) total = 'a search';
  else if (counts) {
    const perState = view.type ? (counts.types?.[view.type] ?? {}) : counts.states;
    const states = view.state ? [view.state] : Object.keys(counts.states);
    total = String(states.reduce((sum, state) => sum + (perState[state] ?? 0), 0));
  }
  const text = `${rows.size} shown of ${total}`;
  if (elements.total.textContent !== text) elements.total.textContent = text;
}

/** Says why the list does not move: paused, or held under the pointer while updates wait. */
function showHeld() {
  elements.held.textContent = view.paused
    ? 'paused: live updates are not shown'
    : held && heldUpdates > 0
      ? 'held while the pointer is on the list'
      : '';
}

/** Makes the body's rows those of `page`, in order, moving the rows that stay rather than recreating them. */
function reconcile(page) {
  const body = elements.body;
  const wanted = new Set(page.map((job) => job.id));
  for (const [id, tr] of rows) {
    if (!wanted.has(id)) (tr.remove(), rows.delete(id));
  }
  page.forEach((job, index) => {
    let tr = rows.get(job.id);
    if (!tr) rows.set(job.id, (tr = createRow(job)));
    fillRow(tr, job);
    if (body.children[index] !== tr) body.insertBefore(tr, body.children[index] ?? null);
  });
}

function createRow(job) {
  const tr = document.createElement('tr');
  tr.dataset.id = job.id;
  tr.tabIndex = 0;
  for (let i = 0; i < 5; i++) tr.append(document.createElement('td'));
  tr.children[2].append(document.createElement('span')); // the state, as a pill
  return tr;
}

/** Sets a row's cells, touching only those that changed. */
function fillRow(tr, job) {
  tr.job = job;
  const cells = [job.id, job.type, job.state, job.attempts, job.updated_at];
  cells.forEach((value, i) => {
    const text = String(value ?? '');
    const cell = i === 2 ? tr.children[2].firstChild : tr.children[i];
    if (cell.textContent !== text) cell.textContent = text;
  });
  const pill = tr.children[2].firstChild;
  const stateClass = `state state-${job.state}`;
  if (pill.className !== stateClass) pill.className = stateClass;
  tr.classList.toggle('selected', job.id === view.selected);
  tr.setAttribute('aria-selected', String(job.id === view.selected));
}

/** Marks the selected row without redrawing the list. */
export function markSelected() {
  for (const [id, tr] of rows) {
    tr.classList.toggle('selected', id === view.selected);
    tr.setAttribute('aria-selected', String(id === view.selected));
  }
}

/** The user changed a filter: back to the first page, fetched at once. */
export function filterChanged() {
  view.page = 0;
  view.cursor = null;
  earlier = [];
  onChange();
  loadPage({ user: true }).catch(showError);
}

/** Goes to the next page (+1) or the previous one (−1). */
function turnPage(step) {
  if (step > 0) {
    if (latest.next === null) return;
    earlier.push(view.cursor);
    view.cursor = latest.next;
    view.page += 1;
  } else {
    if (view.page === 0) return;
    // After a reload the earlier cursors are not known: back to the first page.
    view.cursor = earlier.pop() ?? null;
    view.page = earlier.length === 0 && view.cursor === null ? 0 : view.page - 1;
  }
  onChange();
  loadPage({ user: true }).catch(showError);
}

/**
 * Wires the list's table and controls. `onSelect(id)` when a row is clicked, or chosen with Enter or Space;
 * `onViewChange()` when a filter or the page changed (for the URL).
 */
export function setupList({ onSelect, onViewChange }) {
  onChange = onViewChange;
  const $ = (selector) => document.querySelector(selector);
  elements = {
    body: $('#job-list tbody'), total: $('#job-total'), pageInfo: $('#page-info'), held: $('#list-held'),
    prev: $('#prev'), next: $('#next'),
  };
  const table = $('#job-list');
  // Keyboard focus holds the list like the pointer does; the focus a click leaves on a row does not, or the
  // list would stay held after every click until the user clicked elsewhere.
  const keyboardFocus = () => table.querySelector('tr:focus-visible') !== null;
  const release = () => {
    held = table.matches(':hover') || keyboardFocus();
    if (!held) renderList();
  };
  table.addEventListener('pointerenter', () => (held = true));
  table.addEventListener('pointerleave', () => requestAnimationFrame(release));
  table.addEventListener('focusin', () => (held = held || keyboardFocus()));
  table.addEventListener('focusout', () => requestAnimationFrame(release));
  elements.body.addEventListener('click', (event) => {
    const tr = event.target.closest('tr[data-id]');
    if (tr) onSelect(tr.dataset.id);
  });
  elements.body.addEventListener('keydown', (event) => {
    const tr = event.target.closest('tr[data-id]');
    if (!tr) return;
    if (event.key === 'Enter' || event.key === ' ') onSelect(tr.dataset.id);
    else if (event.key === 'ArrowDown') tr.nextElementSibling?.focus();
    else if (event.key === 'ArrowUp') tr.previousElementSibling?.focus();
    else return;
    event.preventDefault();
  });
  $('#pause').addEventListener('change', (event) => {
    view.paused = event.target.checked;
    if (view.paused) renderList({ user: true });
    else loadPage({ user: true }).catch(showError);
  });
  $('#search').value = view.search;
  $('#search').addEventListener('input', (event) => {
    view.search = event.target.value.trim();
    filterChanged();
  });
  for (const key of ['after', 'before']) {
    $(`#created-${key}`).addEventListener('change', (event) => {
      view[key] = event.target.value;
      filterChanged();
    });
  }
  elements.prev.addEventListener('click', () => turnPage(-1));
  elements.next.addEventListener('click', () => turnPage(1));
}
