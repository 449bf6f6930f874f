// What an operator does from the page: retry or cancel the selected job; retry every failed job, or cancel
// every queued one, of the type filtered on, after a confirmation that says how many; hold and resume
// dispatch. Each answer is shown in the action bar: a count, or the service's error message.
import { postJson, showError } from './api.js';
import { view } from './list.js';

const $ = (selector) => document.querySelector(selector);
const RETRYABLE = new Set(['failed', 'cancelled']);
const CANCELLABLE = new Set(['queued', 'running', 'backoff']);
let status = null;
let after = () => {};
let pendingBulk = null;

/** Says what an action did, or why the service refused it. */
function report(text, { error = false } = {}) {
  const line = $('#action-result');
  line.textContent = text;
  line.className = error ? 'hint error' : 'hint';
}

const refusal = ({ status: code, body }) => `refused (${code}): ${body?.error?.message ?? 'no reason given'}`;

/** The selected job's buttons, enabled by its state. */
export function showJobActions(job) {
  $('#retry-job').disabled = !job || !RETRYABLE.has(job.state);
  $('#cancel-job').disabled = !job || !CANCELLABLE.has(job.state);
}

async function actOnJob(action) {
  const id = view.selected;
  if (!id) return;
  const reply = await postJson(`/jobs/${encodeURIComponent(id)}/${action}`);
  if (reply.status >= 400) report(refusal(reply), { error: true });
  else report(`${action === 'retry' ? 'retried' : 'cancel sent to'} ${id}: now ${reply.body.state}`);
  after();
}

/** How many jobs a bulk action would reach now: the status's count for the state, of the filtered type. */
function countFor(state) {
  if (!status) return 0;
  return view.type ? (status.types?.[view.type]?.[state] ?? 0) : status.states[state];
}

/** Asks to confirm a bulk action, saying how many jobs it reaches. */
function askBulk(kind) {
  const state = kind === 'retry' ? 'failed' : 'queued';
  const ofType = view.type ? ` of type ${view.type}` : '';
  pendingBulk = { kind, state, type: view.type || undefined };
  $('#confirm-text').textContent = `${kind === 'retry' ? 'Retry' : 'Cancel'} all ${countFor(state)} ${state} jobs${ofType}?`;
  $('#confirm').hidden = false;
  $('#confirm-yes').focus();
}

async function runBulk() {
  const bulk = pendingBulk;
  pendingBulk = null;
  $('#confirm').hidden = true;
  if (!bulk) return;
  const reply = await postJson(`/jobs/${bulk.kind}-all`, { state: bulk.state, type: bulk.type });
  if (reply.status >= 400) return report(refusal(reply), { error: true });
  const { skipped, remaining, stopped_by: stoppedBy } = reply.body;
  const acted = bulk.kind === 'retry' ? `retried ${reply.body.retried}` : `cancelled ${reply.body.cancelled}`;
  const stopped = stoppedBy ? ` · stopped: ${stoppedBy}` : '';
  report(`${acted} · skipped ${skipped} · ${remaining} still ${bulk.state}${stopped}`);
  after();
}

/** The status as last fetched: the dispatch button's label, and the counts a confirmation names. */
export function showDispatch(fresh) {
  status = fresh;
  const button = $('#dispatch-toggle');
  const paused = fresh?.dispatch === 'paused';
  button.textContent = paused ? 'resume dispatch' : 'pause dispatch';
  button.dataset.dispatch = fresh?.dispatch ?? '';
  $('#dispatch-state').textContent = fresh ? fresh.dispatch : '–';
}

async function toggleDispatch() {
  const paused = status?.dispatch === 'paused';
  const reply = await postJson(paused ? '/admin/resume' : '/admin/pause');
  if (reply.status >= 400) return report(refusal(reply), { error: true });
  showDispatch({ ...status, dispatch: reply.body.dispatch });
  report(`dispatch ${reply.body.dispatch}`);
  after();
}

/** Wires the buttons; `afterAction()` refreshes what an action changed. */
export function setupActions({ afterAction }) {
  after = afterAction;
  const run = (work) => () => work().catch(showError);
  $('#retry-job').addEventListener('click', run(() => actOnJob('retry')));
  $('#cancel-job').addEventListener('click', run(() => actOnJob('cancel')));
  $('#retry-all').addEventListener('click', () => askBulk('retry'));
  $('#cancel-all').addEventListener('click', () => askBulk('cancel'));
  $('#confirm-yes').addEventListener('click', run(runBulk));
  $('#confirm-no').addEventListener('click', () => ((pendingBulk = null), ($('#confirm').hidden = true)));
  $('#dispatch-toggle').addEventListener('click', run(toggleDispatch));
  showJobActions(null);
}
