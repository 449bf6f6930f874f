/**
 * Each route documents itself where it is defined: right before `router.get('/stats', …)` comes
 * `documentRoute(router, 'GET /stats', {…})`, with the zod schemas it validates with and answers with, in
 * zod-openapi's terms. `openapi.ts` builds the document from what the router's routes declared here; a test
 * fails when a route of the router has no entry, or an entry no route.
 *
 * What every operation shares is added by `openapi.ts`, not here: the 401 and 403 of its scope, the 405 of its
 * path, the 500 `default`, and a HEAD operation beside each GET (the router answers HEAD wherever it answers GET).
 *
 * The helpers below write the common responses in one line each.
 */
import type Router from '@koa/router';
import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiResponseObject } from 'zod-openapi';
import type { ErrorCode } from '../errors.js';
import { errorBodyOf } from './error-schemas.js';
import { jobIdSchema } from './schemas.js';

/** The tags of the document, each with its description. */
export const TAGS = {
  jobs: 'Submit and read jobs.',
  operations: 'Operate the service: cancel, retry (one job or all), hold dispatch, stats, metrics.',
  health: 'Liveness and readiness probes.',
  debug: 'The state charts, the event stream and the debug page.',
  schedules: 'Cron schedules: each fire submits a job.',
} as const;

/** What a route declares: its operation without what the document adds (operationId, security). */
export interface RouteDoc extends Omit<ZodOpenApiOperationObject, 'operationId' | 'security' | 'tags'> {
  tag: keyof typeof TAGS;
  summary: string;
}

/** `GET /jobs/:id`: the method, and the path as the router writes it (the key of ROUTE_SCOPES too). */
export type RouteKey = `${'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} /${string}`;

const docsByRouter = new WeakMap<Router, Map<RouteKey, RouteDoc>>();

/** Records what the route `key` of `router` accepts and answers; call it next to the route's definition. */
export function documentRoute(router: Router, key: RouteKey, doc: RouteDoc): void {
  let docs = docsByRouter.get(router);
  if (!docs) docsByRouter.set(router, (docs = new Map()));
  if (docs.has(key)) throw new Error(`${key} is documented twice`);
  docs.set(key, doc);
}

/** The routes of `router` documented so far, by key. */
export function routeDocs(router: Router): ReadonlyMap<RouteKey, RouteDoc> {
  return docsByRouter.get(router) ?? new Map();
}

/** Seconds to wait before trying again, as `Retry-After` carries them. */
export const retryAfterHeader = z.int().min(0).meta({ description: 'Seconds to wait before trying again.' });

/** A JSON response. */
export const jsonReply = (description: string, schema: z.ZodType, headers?: z.ZodObject): ZodOpenApiResponseObject => ({
  description,
  content: { 'application/json': { schema } },
  ...(headers ? { headers } : {}),
});

export const TEXT_PLAIN = 'text/plain; charset=utf-8';

/** A text response, `text/plain` unless `type` says otherwise. */
export const textReply = (description: string, type = TEXT_PLAIN, schema: z.ZodType = z.string()): ZodOpenApiResponseObject => ({
  description,
  content: { [type]: { schema } },
});

/** An error response of `codes`; its description should say when each happens. */
export const errorReply = (
  description: string,
  codes: readonly ErrorCode[],
  headers?: z.ZodObject,
): ZodOpenApiResponseObject => jsonReply(description, errorBodyOf(codes), headers);

/** The path parameters of `/jobs/:id` and the routes below it. */
export const jobIdParams = z.object({
  id: jobIdSchema.meta({
    description: 'The job id, url-encoded: 1–256 Unicode code points, no control characters, not "." or "..".',
  }),
});

/** 404 `not_found` for a job id the service does not know. */
export const jobNotFound = { ...errorReply('`not_found`: no job with this id.', ['not_found']), id: 'JobNotFound' };

/** 503 `storage_unavailable`, for a route that reads or writes the job store. */
export const storageUnavailable = {
  ...errorReply(
    '`storage_unavailable`: the job store cannot write right now; nothing was carried out. Retry after `Retry-After`.',
    ['storage_unavailable'],
    z.object({ 'Retry-After': retryAfterHeader }),
  ),
  id: 'StorageUnavailable',
};

/** 503 for an admission: `storage_unavailable`, or `shutting_down` during a shutdown. */
export const unavailableOrDraining = {
  ...errorReply(
    '`shutting_down`: the service is draining; retry on another instance. `storage_unavailable` (with ' +
      '`Retry-After`): the job store cannot write right now; nothing was carried out.',
    ['shutting_down', 'storage_unavailable'],
    z.object({ 'Retry-After': retryAfterHeader.optional().meta({ description: 'With storage_unavailable: 1.' }) }),
  ),
  id: 'UnavailableOrDraining',
};

/** 413 and 415: what a route that reads a JSON body refuses before it looks at it. */
export const bodyRefusals = {
  '413': errorReply('`payload_too_large`: the body is larger than MAX_BODY_BYTES.', ['payload_too_large']),
  '415': errorReply('`unsupported_media_type`: the Content-Type is not application/json.', ['unsupported_media_type']),
};
