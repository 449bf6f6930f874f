/**
 * Child processes for the benchmarks: every one is spawned with its output kept in a small ring buffer in
 * memory (never a file), so that a process stuck printing in a loop cannot fill the disk, and every one is
 * stopped by the harness that started it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
const HERE = dirname(fileURLToPath(import.meta.url));
/**
 * `npm run bench` runs the compiled bench (dist/bench/*.js), so the service under test runs as it does in
 * production, from tsc's output (tsx wraps every function expression in a naming helper, a cost on the hot
 * path). The smoke test runs the TypeScript sources under tsx.
 */
const COMPILED = fileURLToPath(import.meta.url).endsWith('.js');
/** The repository's root. */
export const ROOT = COMPILED ? join(HERE, '..', '..') : join(HERE, '..');

/** Node's arguments to run a module of this repository, named without extension: `src/main`, `bench/floor-app`. */
export function nodeArgs(module: string): string[] {
  return COMPILED ? [join(ROOT, 'dist', `${module}.js`)] : ['--import', 'tsx', join(ROOT, `${module}.ts`)];
}

/** Bytes of a child's output kept (the newest), for error messages. */
const OUTPUT_LIMIT = 64 * 1024;

export interface Child {
  readonly process: ChildProcess;
  /** The newest output, stdout and stderr interleaved, at most 64 KiB. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnBounded(command: string, args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (error) => {
      keep(Buffer.from(String(error)));
      resolve(-1);
    });
  });
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    process: child,
    output: () => output,
    exited,
    async stop(graceMs = 3000) {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves once something accepts TCP connections on the port; rejects after `timeoutMs` or if `child` exits. */
export async function waitForPort(port: number, child: Child, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the process exited before listening on ${port}:\n${child.output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listened on ${port} within ${timeoutMs} ms:\n${child.output()}`);
}

/** Runs a script of bench/ (`engine-run`) in a fresh Node process and returns the JSON its last stdout line holds. */
export async function runScript<T>(
  file: string,
  args: string[],
  options: { env?: Record<string, string>; nodeOptions?: string[] } = {},
): Promise<T> {
  const child = spawnBounded(
    process.execPath,
    [...(options.nodeOptions ?? []), ...nodeArgs(`bench/${file}`), ...args],
    options.env,
  );
  const code = await child.exited;
  const lines = child.output().trim().split('\n');
  if (code !== 0) throw new Error(`bench/${file} ${args.join(' ')} exited with ${code}:\n${child.output()}`);
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** Whether an executable is on the PATH. */
export async function hasCommand(command: string): Promise<boolean> {
  const child = spawnBounded('sh', ['-c', `command -v ${command}`]);
  return (await child.exited) === 0;
}
