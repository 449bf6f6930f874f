/**
 * A minimal HTTP target receiver: checks each delivery's Standard Webhooks signature and answers with a JSON
 * result, which the service stores as the job's `result`.
 *
 *   WEBHOOK_SECRET=whsec_... PORT=9000 npx tsx examples/http-target/receiver.ts
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/** Deliveries larger than this are refused (413) before any signature work, bytes. */
const MAX_BODY_BYTES = 1024 * 1024;

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error('Set WEBHOOK_SECRET to the service\'s secret (whsec_ followed by base64).');
  process.exit(2);
}
const webhook = new Webhook(secret);
const port = Number(process.env.PORT ?? 9000);

/** The delivery body the service sends: the job as the processor saw it. */
interface Delivery {
  id: string;
  type: string;
  payload: unknown;
  attempt: number;
  max_retries: number;
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    console.error(error);
    if (!res.headersSent) reply(res, 500, { error: 'internal' });
  });
});

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') return reply(res, 405, { error: 'POST only' });
  const body = await readBody(req);
  if (body === undefined) return reply(res, 413, { error: `body over ${MAX_BODY_BYTES} bytes` });
  let delivery: Delivery;
  try {
    // Checks the HMAC over `id.timestamp.body` and that the timestamp is within 5 minutes (replay protection).
    // It needs the raw body: a re-serialised JSON would not match the signature.
    delivery = webhook.verify(body, req.headers as Record<string, string>) as Delivery;
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    console.log(`${new Date().toISOString()} rejected ${req.headers['webhook-id'] ?? '(no id)'}: ${error.message}`);
    // A 4xx other than 408/425/429 fails the job at once: a bad signature is a configuration error.
    return reply(res, 401, { error: 'bad signature' });
  }
  // `webhook-id` is the job id on every attempt: a real receiver would remember it to skip a redelivery.
  console.log(`${new Date().toISOString()} job ${delivery.id} (${delivery.type}) attempt ${delivery.attempt}`);
  reply(res, 200, { received: delivery.id, attempt: delivery.attempt });
}

/** The raw body as text, or undefined when it is over MAX_BODY_BYTES. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function reply(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

server.listen(port, () => console.log(`receiver listening on http://localhost:${port}`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections(); // the service keeps its sockets alive; do not wait for them to idle out
  });
}
