/**
 * The OpenAPI 3.1 document of `GET /openapi.json`, generated from the zod schemas the routes validate with
 * (`schemas.ts`) and answer with (`response-schemas.ts`) through zod's `z.toJSONSchema`. OpenAPI 3.1 uses
 * JSON Schema 2020-12, zod's default target, so the generated schemas go in unchanged.
 *
 * What is written here by hand is only what no schema holds: each operation's method, path, summary and the
 * statuses it answers with. A test (`test/http/openapi.test.ts`) checks that every route the router serves is
 * documented here and that every documented route is served, and parses real responses with the documented
 * response schemas.
 */
import { z } from 'zod';
import type { Config } from '../config.js';
import { JOB_STATES } from '../engine/job-record.js';
import { DEBUG_ASSETS } from '../debug/assets.js';
import { CANCEL_WAIT_MS } from '../engine/job-queue.js';
import {
  batchReplySchema,
  debugStatusSchema,
  errorBodySchema,
  historySchema,
  jobPageSchema,
  jobPathSchema,
  jobViewSchema,
  queuedReplySchema,
  readinessSchema,
  statsSchema,
  transitionViewSchema,
  typesSchema,
} from './response-schemas.js';
import { OPEN, ROUTE_SCOPES, routeKey } from './access.js';
import { CONSOLE_COMPONENTS, consoleOperations } from './console-openapi.js';
import { batchSchema, jobIdSchema, listQuerySchema, MAX_BATCH_JOBS, submissionSchema } from './schemas.js';

/** The API's version: the package's (a test keeps the two equal). */
export const API_VERSION = '0.1.0';

export type JsonSchema = Record<string, unknown>;

/** A response: JSON with a registered schema, other content, or none. */
export interface Reply {
  description: string;
  json?: z.ZodType;
  /** A non-JSON body: its media type, and a JSON Schema for it when it has one. */
  content?: { type: string; schema?: JsonSchema };
  headers?: Record<string, { description: string; schema: JsonSchema }>;
}

export interface Operation {
  method: 'get' | 'post';
  /** As the router writes it: `/jobs/:id`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  /** The path parameters, by name. */
  params?: Record<string, { schema: z.ZodType; description: string }>;
  /** The query: a zod object, one parameter per key. */
  query?: z.ZodObject;
  /** The request body's JSON Schema (always application/json). */
  body?: JsonSchema;
  responses: Record<string, Reply>;
}

/** `/jobs/:id` → `/jobs/{id}`. */
export const toOpenApiPath = (routerPath: string) => routerPath.replace(/:(\w+)/g, '{$1}');

/** The registered response schemas, by component name. */
const COMPONENTS: [string, z.ZodType][] = [
  ['Job', jobViewSchema],
  ['Queued', queuedReplySchema],
  ['JobPage', jobPageSchema],
  ['BatchReply', batchReplySchema],
  ['Stats', statsSchema],
  ['DebugStatus', debugStatusSchema],
  ['Transition', transitionViewSchema],
  ['History', historySchema],
  ['JobPath', jobPathSchema],
  ['Readiness', readinessSchema],
  ['Error', errorBodySchema],
  ...CONSOLE_COMPONENTS,
];

const TEXT = 'text/plain; charset=utf-8';
const retryAfter = {
  'Retry-After': { description: 'Seconds until a place is likely to free up.', schema: { type: 'integer' } },
};
const err = (description: string): Reply => ({ description, json: errorBodySchema });
const idParam = {
  id: {
    schema: jobIdSchema,
    description: 'The job id, url-encoded: 1–256 Unicode code points, no control characters, not "." or "..".',
  },
};
const notFound = err('`not_found`: no job with this id.');
/** The answers of `authorize` (`access.ts`), for every operation that needs a scope. */
const accessReplies = (scope: string): Record<string, Reply> => ({
  '401': {
    ...err('`unauthorized`: no access token, or one the service does not know.'),
    headers: {
      'WWW-Authenticate': { description: '`Bearer`, or `Bearer error="invalid_token"`.', schema: { type: 'string' } },
    },
  },
  '403': err(`\`forbidden\`: the token lacks the scope \`${scope}\`; \`details.required_scope\` names it.`),
});

/** Every operation the router serves. */
function operations(): Operation[] {
  const submission = { $ref: '#/components/schemas/Submission' };
  const submitReplies: Record<string, Reply> = {
    '200': { description: 'An identical resubmit of a known job: nothing is created.', json: jobViewSchema },
    '202': {
      description: 'Admitted.',
      json: queuedReplySchema,
      headers: { Location: { description: 'The job: /jobs/{id}.', schema: { type: 'string' } } },
    },
    '400': err(
      '`invalid_json`; `validation_failed` with a message per field in `details`; `unknown_job_type` with ' +
        '`details.known_types`.',
    ),
    '409': err('`duplicate_job`: the id is known with another payload or max_retries; `details` is that job.'),
    '413': err('`payload_too_large`: the body is larger than MAX_BODY_BYTES.'),
    '415': err('`unsupported_media_type`: the Content-Type is not application/json.'),
    '429': { ...err('`queue_full`: WORKERS + QUEUE_SIZE jobs are unfinished.'), headers: retryAfter },
    '503': err('`shutting_down`: the service is draining.'),
  };
  const submit = (path: string, summary: string): Operation => ({
    method: 'post',
    path,
    tag: 'jobs',
    summary,
    body: submission,
    responses: submitReplies,
  });

  // The batch envelope from its schema; each item is validated on its own as a Submission.
  const batchBody = generate(batchSchema, 'input');
  (batchBody.properties as Record<string, JsonSchema>).jobs = {
    type: 'array',
    maxItems: MAX_BATCH_JOBS,
    items: submission,
  };

  const machine = (name: string): Operation[] => [
    {
      method: 'get',
      path: `/machines/${name}`,
      tag: 'debug',
      summary: `The ${name} machine's definition (XState toJSON).`,
      responses: { '200': { description: 'The definition.', content: { type: 'application/json', schema: { type: 'object' } } } },
    },
    {
      method: 'get',
      path: `/machines/${name}.mmd`,
      tag: 'debug',
      summary: `The ${name} chart as Mermaid stateDiagram-v2 text.`,
      responses: { '200': { description: 'The diagram.', content: { type: TEXT } } },
    },
  ];

  return [
    {
      method: 'get',
      path: '/healthz',
      tag: 'health',
      summary: 'Liveness: 200 while the process answers.',
      responses: { '200': { description: 'OK', content: { type: TEXT, schema: { const: 'OK' } } } },
    },
    {
      method: 'get',
      path: '/readyz',
      tag: 'health',
      summary: 'Readiness: 503 once a shutdown has begun.',
      responses: {
        '200': { description: 'Accepting jobs.', json: readinessSchema },
        '503': { description: 'Draining.', json: readinessSchema },
      },
    },
    submit('/jobs', 'Submit a job.'),
    submit('/enqueue', 'Submit a job (the original service\'s path).'),
    {
      method: 'post',
      path: '/jobs/batch',
      tag: 'jobs',
      summary: `Submit up to ${MAX_BATCH_JOBS} jobs; each is decided on its own.`,
      body: batchBody,
      responses: {
        '200': { description: 'One result per item, in order.', json: batchReplySchema },
        '400': err('`invalid_json`, or `validation_failed` for the envelope.'),
        '413': err('`payload_too_large`.'),
        '415': err('`unsupported_media_type`.'),
        '503': err('`shutting_down`: the whole batch is refused.'),
      },
    },
    {
      method: 'get',
      path: '/jobs',
      tag: 'jobs',
      summary: 'List jobs, newest first.',
      query: listQuerySchema,
      responses: {
        '200': { description: 'A page.', json: jobPageSchema },
        '400': err('`validation_failed`: a bad state, type, limit or cursor.'),
      },
    },
    {
      method: 'get',
      path: '/jobs/:id',
      tag: 'jobs',
      summary: 'A job.',
      params: idParam,
      responses: { '200': { description: 'The job.', json: jobViewSchema }, '404': notFound },
    },
    {
      method: 'get',
      path: '/jobs/:id/history',
      tag: 'jobs',
      summary: "A job's latest 50 transitions, oldest first.",
      params: idParam,
      responses: { '200': { description: 'The history.', json: historySchema }, '404': notFound },
    },
    {
      method: 'post',
      path: '/jobs/:id/cancel',
      tag: 'operations',
      summary: 'Cancel a job.',
      description:
        `A queued or backoff job is cancelled at once. A running job has its attempt's signal aborted; the ` +
        `response waits up to ${CANCEL_WAIT_MS} ms for the attempt to stop.`,
      params: idParam,
      responses: {
        '200': { description: 'Cancelled.', json: jobViewSchema },
        '202': {
          description: 'The attempt has not stopped yet: still running, with `cancel_requested: true`.',
          json: jobViewSchema,
        },
        '404': notFound,
        '409': err('`not_cancellable`: the job is finished; `details.state` is its state.'),
      },
    },
    {
      method: 'post',
      path: '/jobs/:id/retry',
      tag: 'operations',
      summary: 'Put a failed or cancelled job back in the queue, with max_retries fresh retries.',
      params: idParam,
      responses: {
        '202': { description: 'Queued again (or already running).', json: jobViewSchema },
        '404': notFound,
        '409': err('`not_retryable`: only failed or cancelled jobs can be retried; `details.state` is its state.'),
        '429': { ...err('`queue_full`.'), headers: retryAfter },
        '503': err('`shutting_down`.'),
      },
    },
    {
      method: 'get',
      path: '/stats',
      tag: 'operations',
      summary: "The queue's counters.",
      responses: { '200': { description: 'The counters.', json: statsSchema } },
    },
    {
      method: 'get',
      path: '/types',
      tag: 'operations',
      summary: 'The job types: where each runs, its effective options, and its jobs per state.',
      responses: { '200': { description: 'The types, sorted by name.', json: typesSchema } },
    },
    {
      method: 'get',
      path: '/metrics',
      tag: 'operations',
      summary: 'Prometheus metrics, text format 0.0.4.',
      responses: { '200': { description: 'The metrics.', content: { type: 'text/plain; version=0.0.4; charset=utf-8' } } },
    },
    {
      method: 'get',
      path: '/events',
      tag: 'debug',
      summary:
        'Job transitions as server-sent events (`event: transition`, data: a Transition), and the progress ' +
        'running attempts report (`event: progress`, data: `{"id","type","progress","at"}`, at most 10/s per job).',
      // The route's own query schema is private to it; its two fields are these schemas.
      query: z.strictObject({ job: jobIdSchema.optional(), state: z.enum(JOB_STATES).optional() }),
      responses: {
        '200': { description: 'The stream; it never ends by itself.', content: { type: 'text/event-stream' } },
        '400': err('`validation_failed`: a bad job or state.'),
      },
    },
    ...machine('job'),
    ...machine('supervisor'),
    {
      method: 'get',
      path: '/debug',
      tag: 'debug',
      summary: 'The debug page: the job chart, live.',
      responses: { '200': { description: 'The page.', content: { type: 'text/html; charset=utf-8' } } },
    },
    {
      method: 'get',
      path: '/debug/assets/:name',
      tag: 'debug',
      summary: "The debug page's scripts, style, icon and Mermaid bundle, with an ETag, compressed.",
      params: { name: { schema: z.enum(Object.keys(DEBUG_ASSETS)), description: 'The file.' } },
      responses: {
        '200': { description: 'The file.', content: { type: 'text/javascript; charset=utf-8' } },
        '404': err('`not_found`: no such asset.'),
      },
    },
    {
      method: 'get',
      path: '/debug/status',
      tag: 'debug',
      summary: '/stats plus the supervisor lifecycle.',
      responses: { '200': { description: 'The status.', json: debugStatusSchema } },
    },
    {
      method: 'get',
      path: '/debug/jobs/:id/path',
      tag: 'debug',
      summary: "A job's path on the job chart.",
      params: idParam,
      responses: { '200': { description: 'The path.', json: jobPathSchema }, '404': notFound },
    },
    ...consoleOperations({ err }),
    {
      method: 'get',
      path: '/openapi.json',
      tag: 'operations',
      summary: 'This document.',
      responses: { '200': { description: 'OpenAPI 3.1.', content: { type: 'application/json', schema: { type: 'object' } } } },
    },
  ];
}

/** `format: date-time` says it all; zod's 500-character regex for it would only make the document hard to read. */
const dropDateTimePattern = ({ jsonSchema }: { jsonSchema: { format?: string; pattern?: string } }) => {
  if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
};

/** A zod schema as a JSON Schema for this document (without the `$schema` line each would carry). */
function generate(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    override: dropDateTimePattern,
  }) as JsonSchema;
  return json;
}

/** The document, for the service's configuration (the submission schema depends on MAX_RETRIES_LIMIT). */
export function openApiDocument(config: Readonly<Pick<Config, 'maxRetriesLimit'>>): JsonSchema {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of COMPONENTS) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: 'any',
    override: dropDateTimePattern,
  });
  const schemas: Record<string, JsonSchema> = {};
  for (const [id, json] of Object.entries(generated.schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = json as JsonSchema;
    schemas[id] = rest;
  }
  // Requests are described by their input side: fields with a default are optional.
  schemas.Submission = generate(submissionSchema(config.maxRetriesLimit), 'input');

  const ref = (schema: z.ZodType) => {
    const entry = registry.get(schema);
    return entry ? { $ref: `#/components/schemas/${entry.id}` } : generate(schema, 'output');
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations()) {
    const parameters = [
      ...Object.entries(op.params ?? {}).map(([name, { schema, description }]) => ({
        name,
        in: 'path',
        required: true,
        description,
        schema: generate(schema, 'input'),
      })),
      ...queryParameters(op.query),
    ];
    // With tokens configured (AUTH_TOKENS_FILE, API_TOKEN) every operation but the open ones needs one; the
    // scope it needs is listed as the requirement's role, as OpenAPI 3.1 allows for a non-OAuth scheme.
    const decision = ROUTE_SCOPES[routeKey(op.method.toUpperCase(), op.path)];
    const security = decision === OPEN ? [] : [{ bearer: decision ? [decision] : [] }];
    const replies = decision === OPEN ? op.responses : { ...op.responses, ...accessReplies(decision ?? 'none') };
    const responses = Object.fromEntries(
      Object.entries(replies).map(([status, reply]) => {
        let content: Record<string, { schema?: unknown }> | undefined;
        if (reply.json) content = { 'application/json': { schema: ref(reply.json) } };
        else if (reply.content) content = { [reply.content.type]: reply.content.schema ? { schema: reply.content.schema } : {} };
        return [status, { description: reply.description, headers: reply.headers, content }];
      }),
    );
    const path = toOpenApiPath(op.path);
    paths[path] ??= {};
    paths[path][op.method] = {
      tags: [op.tag],
      summary: op.summary,
      description: op.description,
      operationId: operationId(op),
      parameters: parameters.length > 0 ? parameters : undefined,
      requestBody: op.body ? { required: true, content: { 'application/json': { schema: op.body } } } : undefined,
      security,
      responses,
    };
  }

  // JSON.stringify drops the undefined fields; the document is served as JSON.
  return JSON.parse(
    JSON.stringify({
      openapi: '3.1.0',
      info: {
        title: 'xstate-job-service',
        version: API_VERSION,
        description:
          'A background job service: HTTP submission, bounded concurrency, retries with backoff, every job an XState actor.',
      },
      tags: [
        { name: 'jobs', description: 'Submit and read jobs.' },
        { name: 'operations', description: 'Operate the service: cancel, retry, stats, metrics.' },
        { name: 'health', description: 'Liveness and readiness probes.' },
        { name: 'debug', description: 'The state charts and the debug page.' },
      ],
      paths,
      security: [{ bearer: [] }],
      components: {
        schemas,
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
    }),
  ) as JsonSchema;
}

/** One query parameter per key of the (input side of the) query schema. Query values are strings. */
function queryParameters(query: z.ZodObject | undefined) {
  if (!query) return [];
  const json = generate(query, 'input') as { properties: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties).map(([name, schema]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema,
  }));
}

/** `POST /jobs/:id/cancel` → `postJobsIdCancel`. */
function operationId({ method, path }: Operation): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method + words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
}
