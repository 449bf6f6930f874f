// The selected job's record, laid out for reading: payload and result pretty-printed in collapsible boxes
// (large values cut, with a button for the rest), type, attempts, progress, the latest error and every
// attempt's error, and how long it waited, ran and took in all, with its times in local time.

/** The most characters of a value shown before "show all": a 16 MiB <pre> would freeze the page. */
export const SHOWN_CHARS = 2000;

const $ = (selector) => document.querySelector(selector);

/** Shows `text` in `box`, cut at SHOWN_CHARS with a button after it that shows the rest. */
export function showLongText(box, text) {
  if (box.nextElementSibling?.classList.contains('show-all')) box.nextElementSibling.remove();
  if (text.length <= SHOWN_CHARS) {
    box.textContent = text;
    return;
  }
  box.textContent = `${text.slice(0, SHOWN_CHARS)}…`;
  const more = document.createElement('button');
  more.className = 'show-all';
  more.textContent = `show all (${text.length - SHOWN_CHARS} more characters)`;
  more.addEventListener('click', () => ((box.textContent = text), more.remove()));
  box.after(more);
}

/** A duration in ms as people read it: 850 ms, 4.2 s, 3 min 5 s, 2 h 4 min. */
export function formatDuration(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

/** A time as local time, and how long ago: "14:03:05 (2.1 s ago)". */
export function formatTime(iso, now = Date.now()) {
  if (!iso) return '–';
  const at = Date.parse(iso);
  return `${new Date(at).toLocaleString()} (${formatDuration(Math.max(0, now - at))} ago)`;
}

/**
 * Waited: from the submission to the first attempt's start (the history's first `running`, else the latest
 * start); ran: the latest attempt, to its end or now; total: the submission to the end, or now.
 */
export function durationsOf(job, transitions, now = Date.now()) {
  const created = Date.parse(job.created_at);
  const end = job.finished_at ? Date.parse(job.finished_at) : now;
  const firstRun = transitions.find((t) => t.to === 'running');
  const started = firstRun ? Date.parse(firstRun.at) : job.started_at ? Date.parse(job.started_at) : null;
  return {
    waited: started === null ? now - created : started - created,
    ran: job.started_at ? end - Date.parse(job.started_at) : null,
    total: end - created,
  };
}

/** Each attempt's error, from the history: the moves to backoff or failed carry it. */
export function attemptErrors(transitions) {
  return transitions.filter((t) => t.error !== null).map((t) => ({ attempt: t.attempt, error: t.error }));
}

/** The result as the panel shows it: indented JSON, or why it was not kept; a dash for any other state. */
function resultText(job) {
  if (job.state !== 'done') return { text: '–' };
  if (job.result_error === 'too_large') {
    return { error: true, text: `too_large: ${job.result_bytes} bytes as JSON, over RESULT_MAX_BYTES; not kept` };
  }
  if (job.result_error === 'not_json') return { error: true, text: 'not_json: the value the processor returned is not JSON; not kept' };
  if (job.result === null) return { text: 'none (the processor returned nothing)' };
  return { text: JSON.stringify(job.result, null, 2) };
}

/** Fills the detail panel from the job's record and its history's transitions. */
export function showDetail(job, transitions) {
  $('#selected-type').textContent = job.type;
  $('#selected-attempts').textContent = `${job.attempts} of at most ${job.max_retries + 1}`;
  $('#selected-error').textContent = job.last_error ?? '–';
  const result = resultText(job);
  $('#selected-result').className = result.error ? 'error' : '';
  showLongText($('#selected-result'), result.text);
  showLongText($('#selected-payload'), JSON.stringify(job.payload, null, 2));
  const errors = attemptErrors(transitions);
  $('#attempt-errors').replaceChildren(
    ...errors.map(({ attempt, error }) => {
      const li = document.createElement('li');
      li.textContent = `attempt ${attempt}: ${error}`;
      return li;
    }),
  );
  showDurations(job, transitions);
}

/** The durations, and the times they come from in local time. */
export function showDurations(job, transitions) {
  const { waited, ran, total } = durationsOf(job, transitions);
  const running = job.finished_at === null;
  $('#selected-durations').textContent =
    `waited ${formatDuration(waited)} · ran ${ran === null ? '–' : formatDuration(ran)} · ` +
    `total ${formatDuration(total)}${running ? ' so far' : ''}`;
  $('#selected-times').textContent =
    `submitted ${formatTime(job.created_at)} · started ${formatTime(job.started_at)} · finished ${formatTime(job.finished_at)}`;
}

/** Empties the panel (no job, or one the service no longer has). */
export function clearDetail() {
  for (const id of ['#selected-type', '#selected-attempts', '#selected-error', '#selected-durations', '#selected-times']) {
    $(id).textContent = '–';
  }
  $('#selected-result').className = '';
  showLongText($('#selected-result'), '–');
  showLongText($('#selected-payload'), '–');
  $('#attempt-errors').replaceChildren();
}
