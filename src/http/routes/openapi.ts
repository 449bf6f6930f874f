import type Router from '@koa/router';
import { z } from 'zod';
import { openApiDocument } from '../openapi.js';
import { documentRoute, jsonReply } from '../route-docs.js';

/** What a client can rely on in the document; the rest is OpenAPI 3.1 itself. */
const openApiObjectSchema = z
  .looseObject({
    openapi: z.string().meta({ description: '3.1.0' }),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.record(z.string(), z.unknown())),
    components: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'OpenApiDocument', description: 'An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0).' });

/**
 * `GET /openapi.json`: the OpenAPI 3.1 document (`src/http/openapi.ts`) of every route of `router`, built on the
 * first request, once every route has been added and has documented itself.
 */
export function openapiRoutes(router: Router): void {
  let document: object | undefined;
  documentRoute(router, 'GET /openapi.json', {
    tag: 'operations',
    summary: 'This document.',
    responses: { '200': jsonReply('OpenAPI 3.1.', openApiObjectSchema) },
  });
  router.get('/openapi.json', (ctx) => {
    ctx.body = document ??= openApiDocument(router);
  });
}
