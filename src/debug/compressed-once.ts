/**
 * Large static files compressed once per encoding and kept, rather than by koa-compress at every response:
 * Mermaid's bundle is megabytes, and compressing it again at each cold open of the console cost that open
 * 185–415 ms on loopback (brotli), most of its wait for the bundle. The files do not change while the process
 * runs. Compression runs on libuv's thread pool, not on the event loop.
 */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

export type StaticEncoding = 'br' | 'gzip';

const compressors: Record<StaticEncoding, (bytes: Buffer) => Promise<Buffer>> = {
  // Quality 5: within a few per cent of the best ratio for a minified script, at a fraction of its time.
  br: (bytes) => promisify(brotliCompress)(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }),
  gzip: (bytes) => promisify(gzip)(bytes),
};

const cache = new Map<string, Promise<Buffer>>();

/** The file at `path` compressed with `encoding`: the same promise for every call (a failure is not kept). */
export function compressedOnce(path: string, encoding: StaticEncoding): Promise<Buffer> {
  const key = `${encoding} ${path}`;
  let compressed = cache.get(key);
  if (!compressed) {
    compressed = readFile(path).then((bytes) => compressors[encoding](bytes));
    compressed.catch(() => cache.delete(key));
    cache.set(key, compressed);
  }
  return compressed;
}
