// The live badge in the header. It says what the data on screen is worth, not only whether the socket is open:
// - "disconnected" while the event stream is down;
// - "stale" when the counts the job chart shows were fetched more than STALE_AFTER_MS ago (the status requests
//   fail, or drawing fell behind);
// - "live" otherwise.

export const STALE_AFTER_MS = 5000;

export function createBadge(element) {
  let stream = 'connecting';
  let dataAt = null;

  function show() {
    let state = 'connecting';
    let text = 'connecting…';
    if (stream === 'down') {
      state = 'disconnected';
      text = 'disconnected';
    } else if (dataAt !== null && Date.now() - dataAt > STALE_AFTER_MS) {
      state = 'stale';
      text = `stale · ${Math.round((Date.now() - dataAt) / 1000)} s old`;
    } else if (stream === 'open' && dataAt !== null) {
      state = 'live';
      text = 'live';
    }
    element.dataset.state = state;
    element.className = `badge ${state}`;
    if (element.textContent !== text) element.textContent = text;
  }

  // Age alone turns the badge stale, with no event to say so: it is looked at twice a second.
  setInterval(show, 500);
  show();
  return {
    /** `open`, or `down` once the stream fails (the browser reconnects by itself). */
    stream(state) {
      stream = state;
      show();
    },
    /** The time (epoch ms) the data now on screen was fetched. */
    data(at) {
      dataAt = Math.max(dataAt ?? 0, at);
      show();
    },
  };
}
