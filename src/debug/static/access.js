// The debug page's access token. A classic script loaded before page.js, so that page.js itself needs no
// change: it wraps `fetch` so that every request to this service carries the token as an Authorization header,
// and stands in for `EventSource`, which cannot send a header, with a reader of the stream through `fetch`.
//
// The token is asked for once, at the first 401, and kept in sessionStorage: this tab only, gone when it
// closes. It is sent only in the header, never in a URL, so no access log or browser history holds it.
// With no token configured on the service, no 401 ever comes: nothing is asked, and the native EventSource
// is used as before.
(() => {
  const KEY = 'job-service.token';
  const nativeFetch = window.fetch.bind(window);
  const NativeEventSource = window.EventSource;
  /** The open token dialog, shared by every request that met a 401 while it is open. */
  let asking = null;

  const storedToken = () => sessionStorage.getItem(KEY);

  /** Shows the token dialog; resolves true once a token is stored, false when the person dismissed it. */
  function askForToken(refused) {
    asking ??= new Promise((resolve) => {
      const dialog = document.createElement('dialog');
      dialog.id = 'token-dialog';
      const form = document.createElement('form');
      const label = document.createElement('label');
      label.textContent = refused
        ? 'The service refused that token. Access token (needs the read and debug scopes):'
        : 'This service needs an access token (with the read and debug scopes):';
      const input = document.createElement('input');
      input.type = 'password';
      input.name = 'token';
      input.autocomplete = 'off';
      input.required = true;
      const button = document.createElement('button');
      button.textContent = 'Use token';
      label.append(document.createElement('br'), input);
      form.append(label, ' ', button);
      dialog.append(form);
      const finish = (stored) => {
        dialog.remove();
        asking = null;
        resolve(stored);
      };
      form.addEventListener('submit', (event) => {
        // Handled here rather than submitted: the page's CSP allows no form action.
        event.preventDefault();
        sessionStorage.setItem(KEY, input.value.trim());
        dialog.close();
        finish(true);
      });
      dialog.addEventListener('cancel', () => finish(false));
      document.body.append(dialog);
      dialog.showModal();
    });
    return asking;
  }

  const sameOrigin = (input) => new URL(input instanceof Request ? input.url : String(input), location.href).origin === location.origin;

  /** `fetch` with the token; at a 401, asks for a token (once for all waiting requests) and tries again. */
  async function fetchWithToken(input, init = {}) {
    if (!sameOrigin(input)) return nativeFetch(input, init);
    for (;;) {
      const sent = storedToken();
      const headers = new Headers(init.headers);
      if (sent) headers.set('Authorization', `Bearer ${sent}`);
      const response = await nativeFetch(input, { ...init, headers });
      if (response.status !== 401) return response;
      // Another request may have got a new token while this one was under way: try that one first.
      if (storedToken() !== sent) continue;
      if (!(await askForToken(sent !== null))) return response;
    }
  }

  /**
   * The part of EventSource the page uses (`onopen`, `onerror`, `addEventListener`, `close`), over `fetch`.
   * Like EventSource it reconnects after a dropped stream, and gives up on an answer that is not a stream
   * (a 401 the person dismissed, a 403).
   */
  class FetchEventSource extends EventTarget {
    constructor(url) {
      super();
      this.url = new URL(url, location.href).href;
      this.readyState = 0;
      this.onopen = null;
      this.onmessage = null;
      this.onerror = null;
      this.retryMs = 3000;
      this.lastEventId = '';
      this.connect();
    }

    emit(event) {
      this.dispatchEvent(event);
      const handler = this[`on${event.type}`];
      if (typeof handler === 'function') handler.call(this, event);
    }

    async connect() {
      this.abort = new AbortController();
      let response;
      try {
        response = await fetchWithToken(this.url, {
          headers: { Accept: 'text/event-stream' },
          cache: 'no-store',
          signal: this.abort.signal,
        });
      } catch {
        return this.reconnect();
      }
      if (this.readyState === 2) return;
      if (!response.ok || !response.body) {
        this.readyState = 2;
        this.emit(new Event('error'));
        return;
      }
      this.readyState = 1;
      this.emit(new Event('open'));
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, '\n');
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            this.dispatchBlock(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch {
        // A dropped connection, or close(): either way the stream is over.
      }
      this.reconnect();
    }

    /** One message: its `event:`, `data:` (joined by newlines), `id:` and `retry:` fields; `:` lines are comments. */
    dispatchBlock(block) {
      let type = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') type = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') this.lastEventId = value;
        else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
      }
      if (data.length === 0) return;
      this.emit(new MessageEvent(type, { data: data.join('\n'), lastEventId: this.lastEventId, origin: location.origin }));
    }

    reconnect() {
      if (this.readyState === 2) return;
      this.readyState = 0;
      this.emit(new Event('error'));
      this.timer = setTimeout(() => this.connect(), this.retryMs);
    }

    close() {
      this.readyState = 2;
      clearTimeout(this.timer);
      this.abort?.abort();
    }
  }

  window.fetch = fetchWithToken;
  // Chosen when the page opens its stream: by then its first requests have asked for the token if one is needed.
  window.EventSource = function EventSource(url, options) {
    return storedToken() ? new FetchEventSource(url) : new NativeEventSource(url, options);
  };
})();
