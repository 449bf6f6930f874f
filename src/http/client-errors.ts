/**
 * Errors a client causes at the protocol level: malformed HTTP (a bad chunk size, an oversized header), a
 * request timed out, a connection dropped in the middle of a body. They say nothing about the service, and one
 * hostile client can cause thousands a second, so they are logged at debug, rate-limited, and without the raw
 * bytes Node attaches to them (`rawPacket`: a 15 KB header made a 45 KB log line).
 */
import type { Logger } from 'pino';

/** Lines logged per window at most; the rest are counted, and the next line logged says how many. */
export const CLIENT_ERROR_LINES_PER_WINDOW = 10;
/** The window of CLIENT_ERROR_LINES_PER_WINDOW, in ms. */
export const CLIENT_ERROR_WINDOW_MS = 1000;

/** Codes of errors a client's bytes or its disconnection cause, rather than the service. */
const CLIENT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_HTTP_REQUEST_TIMEOUT',
]);

/** Whether an error came from the client's protocol use (HTTP parser errors are `HPE_…`) or its disconnection. */
export function isClientProtocolError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return (code !== undefined && (code.startsWith('HPE_') || CLIENT_CODES.has(code))) || error.message === 'aborted';
}

/** Logs client protocol errors at debug: the code and reason only, at most CLIENT_ERROR_LINES_PER_WINDOW a window. */
export function clientErrorLogger(logger: Logger, now: () => number = Date.now): (error: unknown, where: string) => void {
  let windowStart = -Infinity;
  let logged = 0;
  let suppressed = 0;
  return (error, where) => {
    const at = now();
    if (at - windowStart >= CLIENT_ERROR_WINDOW_MS) {
      windowStart = at;
      logged = 0;
    }
    if (logged >= CLIENT_ERROR_LINES_PER_WINDOW) {
      suppressed++;
      return;
    }
    logged++;
    const { code, reason, message } = error as { code?: string; reason?: string; message?: string };
    const fields: Record<string, unknown> = { code, reason: reason ?? message, where };
    if (suppressed > 0) fields.suppressed = suppressed;
    suppressed = 0;
    logger.debug(fields, 'client protocol error');
  };
}
