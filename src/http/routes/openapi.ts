import type Router from '@koa/router';

/** `GET /openapi.json`: the OpenAPI 3.1 document (`src/http/openapi.ts`), built once when the app is. */
export function openapiRoutes(router: Router, { document }: { document: object }): void {
  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
}
