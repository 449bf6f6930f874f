/**
 * Helpers for the process-level tests: start the service as a real child process, talk to it over HTTP,
 * and read its JSON log lines. Every child started here is tracked, and `killAll()` (called in `afterEach`)
 * kills the ones still running, so a failing test never leaves a server behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Output kept per stream, in characters: enough for these tests, and a bound on a runaway child. */
const OUTPUT_LIMIT = 1_000_000;

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface Child {
  process: ChildProcess;
  port: number;
  /** Every stdout line that parsed as JSON, in order. */
  readonly lines: LogLine[];
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line matching `predicate`; rejects after `timeoutMs` or if the child exits. */
  waitForLine(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  url(path: string): string;
}

const children = new Set<ChildProcess>();

/** Kills every child still running. */
export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

/** A port that was free a moment ago (the OS picks it; we release it for the child). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts `node <args>` in the repository with a clean environment: only `PORT`, `HOST=127.0.0.1`,
 * `STORE=memory` and `env`, so variables set in the shell running the tests cannot change the outcome, and no
 * test writes the default `./data/jobs.db` (a test of the durable store passes its own temp `STORE`).
 */
export async function startChild(args: string[], env: Record<string, string> = {}): Promise<Child> {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { PORT: String(port), HOST: '127.0.0.1', STORE: 'memory', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  let partial = '';
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    if (stdout.length < OUTPUT_LIMIT) stdout += chunk;
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        // Not a log line; it stays in `stdout` for the assertion messages.
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < OUTPUT_LIMIT) stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const wake of waiters) wake();
      resolve({ code, signal });
    }),
  );

  return {
    process: child,
    port,
    lines,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    waitForLine(predicate, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(predicate);
          if (found) done(() => resolve(found));
          else if (child.exitCode !== null || child.signalCode !== null) {
            done(() => reject(new Error(`child exited before the line appeared; stderr:\n${stderr}`)));
          }
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no matching log line within ${timeoutMs} ms; stdout:\n${stdout}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Starts the service from source, the way `npm start` does. */
export function startService(env: Record<string, string> = {}): Promise<Child> {
  return startChild(['--import', 'tsx', '--conditions=xstate-job-service-source', 'src/main.ts'], env);
}

/** Polls `GET /healthz` until it answers 200, so readiness does not depend on the log level. */
export async function waitUntilHealthy(child: Child, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`child exited early; stderr:\n${child.stderr()}`);
    try {
      const response = await fetch(child.url('/healthz'));
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`not healthy within ${timeoutMs} ms; stderr:\n${child.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Submits a job with `POST /jobs`; returns the status and the parsed body. */
export async function submit(child: Child, job: { id: string; payload?: unknown; max_retries?: number }) {
  const response = await fetch(child.url('/jobs'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(job),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

/** Resolves with the exit, or rejects if the child is still running after `timeoutMs`. */
export function exitWithin(child: Child, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`child still running after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([child.exited, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A request sent over a raw socket in two parts, so that it is in flight (and its connection not idle) when
 * the server closes: `start()` sends the head without its final blank line, `finish()` the rest, and resolves
 * with the status line and body. It asks for `Connection: close`, so the response ends with the socket.
 */
export function splitRequest(child: Child, method: string, path: string, body?: unknown) {
  const text = body === undefined ? '' : JSON.stringify(body);
  const head =
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
    (body === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n`);
  let socket: Socket;
  let received = '';
  let ended: Promise<void>;
  return {
    start: () =>
      new Promise<void>((resolve, reject) => {
        socket = connect(child.port, '127.0.0.1', () => socket.write(head, () => resolve()));
        socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
        ended = new Promise((done) => socket.once('close', () => done()));
        socket.once('error', reject);
      }),
    async finish(): Promise<{ status: number; body: string }> {
      socket.write(`\r\n${text}`);
      await ended;
      const [statusLine = ''] = received.split('\r\n');
      return { status: Number(statusLine.split(' ')[1]), body: received.slice(received.indexOf('\r\n\r\n') + 4) };
    },
  };
}

/** True when a new TCP connection to the child is refused. */
export function refusesConnections(child: Child): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(child.port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}
