// The cron schedules: each with its state, expression, next fire time and last job, refreshed every few
// seconds from /schedules. "jobs" shows a schedule's jobs in the job list (their ids start with sched:<name>:).
import { getJson, showError } from './api.js';
import { filterChanged, view } from './list.js';

const $ = (selector) => document.querySelector(selector);
export const SCHEDULES_REFRESH_MS = 5000;

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function render(schedules) {
  const body = $('#schedule-list tbody');
  body.replaceChildren();
  $('#schedule-total').textContent = `(${schedules.length})`;
  for (const schedule of schedules) {
    const tr = document.createElement('tr');
    tr.dataset.name = schedule.name;
    const show = document.createElement('button');
    show.textContent = 'jobs';
    show.title = `Show the jobs of ${schedule.name} in the job list`;
    show.addEventListener('click', () => {
      const search = $('#search');
      search.value = `sched:${schedule.name}:`;
      view.search = search.value;
      filterChanged();
    });
    const actions = document.createElement('td');
    actions.append(show);
    tr.append(
      cell(schedule.name),
      cell(schedule.state),
      cell(`${schedule.cron} (${schedule.timezone})`),
      cell(schedule.next_fire_times[0] ?? '–'),
      cell(schedule.last_job_id ?? '–'),
      actions,
    );
    body.append(tr);
  }
}

async function refresh() {
  try {
    render((await getJson('/schedules')).schedules);
  } catch (error) {
    showError(error);
  }
}

export function setupSchedules() {
  void refresh();
  setInterval(refresh, SCHEDULES_REFRESH_MS);
}
