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

/** POSTs `body` as JSON; resolves with the answer's status and parsed body, whatever the status. */
export async function postJson(path, body = {}) {
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
