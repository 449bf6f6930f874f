/**
 * Row 7's HTTP target: answers every request 200 `{}` on a keep-alive connection, doing nothing else (it does not
 * even check the signature, so that what is measured is the service's side).
 *
 * Run: `PORT=9000 node --import tsx bench/noop-receiver.ts`.
 */
import { createServer } from 'node:http';

const body = '{}';
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    response.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 9000), '127.0.0.1');
