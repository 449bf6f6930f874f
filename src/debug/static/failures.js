// The failed jobs grouped by error message (GET /stats/failures), of the type filtered on: each message with
// its count, and a link to the list of the failed jobs with that message (#/jobs?state=failed&error=…).
import { getJson, showError } from './api.js';
import { urlOf } from './url-state.js';

export const FAILURES_EVERY_MS = 5000;

let element = null;
let typeOf = () => '';

function groupRow(group, type) {
  const li = document.createElement('li');
  const link = document.createElement('a');
  link.href = urlOf({ state: 'failed', type, error: group.message, page: 0, cursor: null, selected: null });
  link.textContent = group.message;
  link.title = `latest: ${group.latest_id} at ${new Date(Date.parse(group.latest_at)).toLocaleString()}`;
  const count = document.createElement('span');
  count.className = 'count';
  count.textContent = String(group.count);
  li.append(count, ' ', link);
  return li;
}

export async function refreshFailures() {
  const type = typeOf();
  const query = new URLSearchParams({ top: '8' });
  if (type) query.set('type', type);
  const found = await getJson(`/stats/failures?${query}`);
  element.replaceChildren(...found.groups.map((group) => groupRow(group, type)));
  if (found.groups.length === 0) element.textContent = 'no failed jobs';
  document.querySelector('#failures-note').textContent = found.complete ? '' : `the newest ${found.scanned} failed jobs`;
}

/** `currentType()` is the type filtered on ('' for all). */
export function setupFailures(list, currentType) {
  element = list;
  typeOf = currentType;
  const tick = () => refreshFailures().catch(showError);
  tick();
  setInterval(tick, FAILURES_EVERY_MS);
}
