// The service's JSON, for the page's modules: a failed request throws an HttpError that keeps its status, so
// that a caller can tell a job that is gone (404) from a service that is down.

export class HttpError extends Error {
  constructor(path, status) {
    super(`${path}: ${status}`);
    this.name = 'HttpError';
    this.status = status;
  }
}

export async function getJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new HttpError(path, response.status);
  return response.json();
}

export async function getText(path) {
  const response = await fetch(path);
  if (!response.ok) throw new HttpError(path, response.status);
  return response.text();
}

export function showError(error) {
  console.error(error);
}

/**
 * Every job the service lists, newest first, up to `max`; of one type when `type` is set. Pages of 1000, so
 * that a large list comes in a few requests.
 */
export async function fetchJobs({ type = '', max = 20_000 } = {}) {
  const all = [];
  let cursor = null;
  while (all.length < max) {
    const query = new URLSearchParams({ limit: '1000' });
    if (type) query.set('type', type);
    if (cursor) query.set('cursor', cursor);
    const page = await getJson(`/jobs?${query}`);
    all.push(...page.jobs);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return all;
}
