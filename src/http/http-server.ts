/**
 * The HTTP server of the service, with its limits set by the service rather than left to Node's defaults
 * (Node holds a chunked body that never ends for 5 minutes):
 * - `headersTimeout` (HTTP_HEADERS_TIMEOUT_MS): the request's headers must arrive within it, or 408;
 * - `requestTimeout` (HTTP_REQUEST_TIMEOUT_MS): the whole request, body included, within it, or 408;
 * - `keepAliveTimeout` (HTTP_KEEP_ALIVE_TIMEOUT_MS): an idle keep-alive connection is closed after it;
 * - `maxConnections` (MAX_CONNECTIONS): connections beyond it are dropped as they arrive.
 * Node checks the two request timeouts every `connectionsCheckingInterval`: 1 s here rather than 30 s, so a
 * timeout fires within a second of its due time.
 *
 * Malformed requests (`clientError`) get Node's own answers (400, 408, 431) and are logged at debug, rate-limited,
 * without their raw bytes (`client-errors.ts`).
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Config } from '../config.js';

/** How often Node looks for requests past their timeouts, in ms. */
export const CONNECTIONS_CHECKING_INTERVAL_MS = 1000;

/** The answers Node gives itself to these client errors; anything else is a 400. */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

export function createHttpServer(
  handler: RequestListener,
  limits: Config['http'],
  onClientError: (error: unknown, where: string) => void,
): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: CONNECTIONS_CHECKING_INTERVAL_MS,
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    onClientError(error, 'parser');
    // As Node does without a listener: an answer only when nothing of a response was sent on this socket yet.
    if (error.code === 'ECONNRESET' || !socket.writable || (socket as Socket).bytesWritten > 0) {
      socket.destroy();
      return;
    }
    const status = CLIENT_ERROR_STATUS[error.code ?? ''] ?? '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
  });
  return server;
}
