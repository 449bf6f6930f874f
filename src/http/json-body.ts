import type { Context, Next } from 'koa';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createUnzip } from 'node:zlib';
import getRawBody from 'raw-body';
import { errors } from '../errors.js';

/** The Content-Encodings a body may arrive in; `identity` is the body as it is. */
const DECODERS: Record<string, (() => NodeJS.ReadWriteStream) | null> = {
  identity: null,
  gzip: createUnzip,
  deflate: createUnzip,
  br: createBrotliDecompress,
};

declare module 'koa' {
  interface Request {
    /** The parsed JSON body of a route that reads one (`jsonBody`). */
    body?: unknown;
  }
}

/** Decodes UTF-8 strictly: a malformed byte throws rather than turning into U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a JSON request body into `ctx.request.body`, checking in the order of the error precedence:
 * 1. 415 when the Content-Type is not `application/json`, when it declares a charset other than UTF-8, or when
 *    the Content-Encoding is not one of identity, gzip, deflate, br (each with its own message);
 * 2. 413 when the body, decompressed, is larger than `maxBytes` (a declared Content-Length is refused at once);
 * 3. 400 `invalid_json`: not valid UTF-8 (refused, never replaced), empty, or not JSON.
 * Any JSON value parses, `__proto__` keys included (`JSON.parse` makes them ordinary keys); the schema decides
 * what is allowed.
 */
export function jsonBody(maxBytes: number) {
  return async (ctx: Context, next: Next) => {
    const contentType = ctx.get('Content-Type');
    const [mediaType = '', ...parameters] = contentType.split(';').map((part) => part.trim());
    if (mediaType.toLowerCase() !== 'application/json') throw errors.unsupportedMediaType(contentType || undefined);
    const charset = parameters
      .map((parameter) => /^charset\s*=\s*"?([^"]*)"?$/i.exec(parameter)?.[1])
      .find((value) => value !== undefined);
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) throw errors.unsupportedCharset(charset);
    const encoding = (ctx.get('Content-Encoding') || 'identity').trim().toLowerCase();
    if (!(encoding in DECODERS)) throw errors.unsupportedEncoding(ctx.get('Content-Encoding'));

    const decoder = DECODERS[encoding]!;
    const stream: Readable = decoder ? (ctx.req.pipe(decoder()) as unknown as Readable) : ctx.req;
    let bytes: Buffer;
    try {
      // The declared length only bounds an identity body; a compressed one is bounded after decompression.
      bytes = await getRawBody(stream, { limit: maxBytes, length: decoder === null ? ctx.get('Content-Length') || undefined : undefined });
    } catch (error) {
      const { status, type } = error as { status?: number; type?: string };
      if (status === 413 || type === 'entity.too.large') throw errors.payloadTooLarge(maxBytes);
      throw errors.invalidJson((error as Error).message);
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw errors.invalidJson('it is not valid UTF-8');
    }
    if (text.trim() === '') throw errors.invalidJson('the body is empty');
    try {
      ctx.request.body = JSON.parse(text);
    } catch (error) {
      throw errors.invalidJson((error as Error).message);
    }
    await next();
  };
}
