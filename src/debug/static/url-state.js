// The view in the URL: `#/jobs/<id>?state=&type=&q=&error=&after=&before=&page=&cursor=`, so that a link opens the same view
// and a reload comes back to it. Only the fragment is used: the page itself stays at /debug.

/** The keys of the list's filters kept in the URL, as the view names them. */
const KEYS = {
  state: 'state', type: 'type', search: 'q', error: 'error', after: 'after', before: 'before', page: 'page', cursor: 'cursor',
};

/** The view a URL fragment describes: `{ selected, state, type, search, error, page, cursor }`. */
export function readUrlState(hash = location.hash) {
  const match = /^#\/jobs(?:\/([^?]*))?(?:\?(.*))?$/.exec(hash);
  const state = { selected: null, state: '', type: '', search: '', error: '', after: '', before: '', page: 0, cursor: null };
  if (!match) return state;
  if (match[1]) state.selected = decodeURIComponent(match[1]);
  const query = new URLSearchParams(match[2] ?? '');
  for (const [key, name] of Object.entries(KEYS)) {
    const value = query.get(name);
    if (value === null) continue;
    if (key === 'page') state.page = Math.max(0, Number(value) - 1) || 0;
    else state[key] = value;
  }
  return state;
}

/** The fragment of a view: empty filters are left out; `page` counts from 1 as the pager shows it. */
export function urlOf(view) {
  const query = new URLSearchParams();
  for (const [key, name] of Object.entries(KEYS)) {
    const value = view[key];
    if (key === 'page') {
      if (value > 0) query.set(name, String(value + 1));
    } else if (value) query.set(name, value);
  }
  const path = view.selected ? `#/jobs/${encodeURIComponent(view.selected)}` : '#/jobs';
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** Puts the view in the URL without a new history entry for each keystroke (a selection makes one). */
export function writeUrlState(view, { push = false } = {}) {
  const hash = urlOf(view);
  if (hash === location.hash) return;
  if (push) history.pushState(null, '', hash);
  else history.replaceState(null, '', hash);
}
