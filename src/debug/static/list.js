// The job list: live, filtered, searched, paginated.
//
// Rows are kept per job and updated in place, so that a row under the pointer is the same element from the
// press to the release. While the pointer is over the list, or a row has the keyboard's focus, live updates only
// change the cells of the rows shown: rows are added, removed and reordered once the pointer leaves. The
// "pause live updates" toggle freezes the list altogether. What the user does (filter, search, page) applies
// at once.

const PAGE_SIZE = 50;

/** id → { id, type, state, attempts, created_at, updated_at }, oldest first. */
export const jobs = new Map();
export const view = { page: 0, state: '', type: '', search: '', selected: null, paused: false };

const rows = new Map(); // id → its <tr>, for the rows shown
let held = false;
let heldUpdates = 0;
let queued = null; // the render asked for this frame: 'live' or 'user'
let elements = null;

export function upsert(job) {
  jobs.set(job.id, { ...jobs.get(job.id), ...job });
}

export function removeJob(id) {
  jobs.delete(id);
}

/** Replaces every job by `list` (oldest first), e.g. after a reconnect. */
export function replaceJobs(list) {
  jobs.clear();
  for (const job of list) jobs.set(job.id, job);
}

/** Puts the map back in creation order (a stable sort: jobs created in the same millisecond keep theirs). */
export function sortByCreation() {
  // A job first seen over SSE mid-way and never in a page has no created_at: its last update stands in.
  const created = (job) => job.created_at ?? job.updated_at ?? '';
  const sorted = [...jobs.values()].sort((a, b) => (created(a) < created(b) ? -1 : created(a) > created(b) ? 1 : 0));
  replaceJobs(sorted);
}

function filtered() {
  const search = view.search.toLowerCase();
  const result = [];
  for (const job of jobs.values()) {
    if (view.state && job.state !== view.state) continue;
    if (view.type && job.type !== view.type) continue;
    if (search && !job.id.toLowerCase().includes(search)) continue;
    result.push(job);
  }
  return result.reverse(); // newest first
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
    for (const [id, tr] of rows) fillRow(tr, jobs.get(id) ?? { ...tr.job, state: 'gone' });
    return showHeld();
  }
  heldUpdates = 0;
  const shown = filtered();
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  view.page = Math.min(view.page, pages - 1);
  reconcile(shown.slice(view.page * PAGE_SIZE, (view.page + 1) * PAGE_SIZE));
  elements.total.textContent = `${shown.length} shown of ${jobs.size}`;
  elements.pageInfo.textContent = `page ${view.page + 1} / ${pages}`;
  showHeld();
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

/** Wires the list's table and controls; `onSelect(id)` when a row is clicked, or chosen with Enter or Space. */
export function setupList({ onSelect }) {
  const $ = (selector) => document.querySelector(selector);
  elements = { body: $('#job-list tbody'), total: $('#job-total'), pageInfo: $('#page-info'), held: $('#list-held') };
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
    renderList({ user: true });
  });
  $('#search').addEventListener('input', (event) => {
    view.search = event.target.value.trim();
    view.page = 0;
    renderList({ user: true });
  });
  $('#prev').addEventListener('click', () => {
    view.page = Math.max(0, view.page - 1);
    renderList({ user: true });
  });
  $('#next').addEventListener('click', () => {
    view.page += 1;
    renderList({ user: true });
  });
}
