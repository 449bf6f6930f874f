/**
 * The OpenAPI 3.1 document of `GET /openapi.json`, built with zod-openapi from what each route declared next to
 * its definition (`documentRoute`, `route-docs.ts`): the zod schemas it validates requests with and answers
 * with. zod-openapi renders a request schema by its input side (a field with a default is optional) and a
 * response schema by its output side, and registers every schema with a `.meta({ id })` as a component.
 *
 * Added here, the same for every operation:
 * - `operationId` from the method and path, the tag, and `security` from the route's scope (ROUTE_SCOPES),
 *   with its 401 and 403;
 * - 405 `method_not_allowed` with `Allow`, and 500 `internal` as the `default` response;
 * - a HEAD operation beside each GET: the router answers HEAD wherever it answers GET, with the GET's headers
 *   and no body.
 */
import type Router from '@koa/router';
import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject } from 'zod-openapi';
import { OPEN, ROUTE_SCOPES } from './access.js';
import { errorReply, routeDocs, TAGS, type RouteDoc } from './route-docs.js';

/** The API's version: the package's (a test keeps the two equal). */
export const API_VERSION = '0.1.0';

/** `/jobs/:id` → `/jobs/{id}`. */
export const toOpenApiPath = (routerPath: string) => routerPath.replace(/:(\w+)/g, '{$1}');

/** `POST /jobs/:id/cancel` → `postJobsIdCancel`. */
function operationId(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method.toLowerCase() + words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
}

// Shared by every operation: each is a component of the document (`id`), referred to from each operation.
const methodNotAllowed = {
  ...errorReply(
    '`method_not_allowed`: the path exists, but not with this method; `Allow` lists its methods.',
    ['method_not_allowed'],
    z.object({ Allow: z.string().meta({ description: 'The methods of the path, e.g. `GET, HEAD`.' }) }),
  ),
  id: 'MethodNotAllowed',
};
const internal = {
  ...errorReply('`internal`: an unexpected error; its detail is in the log, never in the response.', ['internal']),
  id: 'Internal',
};
const unauthorized = {
  ...errorReply('`unauthorized`: no access token, or one the service does not know.', ['unauthorized'], z.object({
    'WWW-Authenticate': z.string().meta({ description: '`Bearer`, or `Bearer error="invalid_token"`.' }),
  })),
  id: 'Unauthorized',
};

/** The 401 and 403 of an operation that needs `scope` (`authorize`, `access.ts`). */
const accessReplies = (scope: string): Record<string, ZodOpenApiResponseObject> => ({
  '401': unauthorized,
  '403': errorReply(`\`forbidden\`: the token lacks the scope \`${scope}\`; \`details.required_scope\` names it.`, ['forbidden'], z.object({
    'WWW-Authenticate': z.string().meta({ description: '`Bearer error="insufficient_scope", scope="…"`.' }),
  })),
});

/** 421: the `Host` check against DNS rebinding (`request-guards.ts`); every route but the health probes. */
const hostNotAllowed = {
  ...errorReply(
    '`host_not_allowed`: the `Host` names neither ALLOWED_HOSTS nor, on loopback, a loopback name; `details` says which are.',
    ['host_not_allowed'],
  ),
  id: 'HostNotAllowed',
};
const PROBES = new Set(['/healthz', '/readyz']);

/** 415: a state-changing request without JSON or `X-Requested-With`, which a cross-site form could send. */
const formWriteRefused = {
  ...errorReply(
    '`unsupported_media_type`: a state-changing request needs `Content-Type: application/json` or an ' +
      '`X-Requested-With` header.',
    ['unsupported_media_type'],
  ),
  id: 'FormWriteRefused',
};

/** A GET's responses for HEAD: the same statuses and headers, without a body. */
function withoutBodies(responses: ZodOpenApiOperationObject['responses']): ZodOpenApiOperationObject['responses'] {
  return Object.fromEntries(
    Object.entries(responses).map(([status, reply]) => {
      if (!reply || typeof reply !== 'object' || '$ref' in reply) return [status, reply];
      // Without its component id too: the component is the response with a body.
      const { content: _content, id: _id, ...rest } = reply as ZodOpenApiResponseObject;
      return [status, rest];
    }),
  );
}

/** The operation of `key`, with what every operation shares. */
function operation(key: string, method: string, path: string, doc: RouteDoc): ZodOpenApiOperationObject {
  const { tag, ...declared } = doc;
  const decision = ROUTE_SCOPES[key];
  const scoped = decision !== OPEN;
  return {
    ...declared,
    tags: [tag],
    operationId: operationId(method, path),
    // With tokens configured (AUTH_TOKENS_FILE, API_TOKEN) every operation but the open ones needs one; the
    // scope it needs is listed as the requirement's role, as OpenAPI 3.1 allows for a non-OAuth scheme.
    security: scoped ? [{ bearer: decision ? [decision] : [] }] : [],
    responses: {
      ...(method === 'GET' ? {} : { '415': formWriteRefused }),
      ...declared.responses,
      ...(scoped ? accessReplies(decision ?? 'none') : {}),
      ...(PROBES.has(path) ? {} : { '421': hostNotAllowed }),
      '405': methodNotAllowed,
      default: internal,
    },
  };
}

/**
 * The document of the routes `router` has documented, as JSON to serve. (Typed as a plain object: zod-openapi's
 * own type of it lives in a chunk of its build that a declaration file cannot name.)
 */
export function openApiDocument(router: Router): object {
  const paths: ZodOpenApiPathsObject = {};
  for (const [key, doc] of routeDocs(router)) {
    const [method, routerPath] = key.split(' ') as [string, string];
    const path = toOpenApiPath(routerPath);
    const item = (paths[path] ??= {}) as Record<string, ZodOpenApiOperationObject>;
    item[method.toLowerCase()] = operation(key, method, path, doc);
    if (method === 'GET') {
      const get = item.get!;
      item.head = {
        ...get,
        summary: `${doc.summary.replace(/\.$/, '')}, headers only.`,
        operationId: operationId('HEAD', path),
        responses: withoutBodies(get.responses),
      };
    }
  }

  return createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'xstate-job-service',
        version: API_VERSION,
        description:
          'A background job service: HTTP submission, bounded concurrency, retries with backoff, every job an XState actor.',
        license: { name: 'UNLICENSED: private, not licensed for use outside its owners (package.json)' },
      },
      // Relative: the service that serves this document (its address is the deployment's: HOST, PORT).
      servers: [{ url: '/', description: 'The service that serves this document.' }],
      tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
      security: [{ bearer: [] }],
      paths,
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'An access token (`npm run token`), when the service has any (AUTH_TOKENS_FILE, API_TOKEN); ' +
              'without, every operation is open. Each operation lists the scope its token needs.',
          },
        },
      },
    },
    { override: dropDateTimePattern },
  );
}

/** `format: date-time` says it all; zod's 500-character regex for it would only make the document hard to read. */
function dropDateTimePattern({ jsonSchema }: { jsonSchema: { format?: string; pattern?: string } }) {
  if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
}
