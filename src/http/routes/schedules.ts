import type Router from '@koa/router';
import { z } from 'zod';
import type { Schedules } from '../../engine/schedules.js';
import { jsonBody } from '../json-body.js';
import { bodyRefusals, documentRoute, errorReply, jsonReply, type RouteDoc } from '../route-docs.js';
import { scheduleListSchema, scheduleNameSchema, scheduleSpecSchema, scheduleView, scheduleViewSchema } from '../schedule-schemas.js';
import { validate } from '../validate.js';

const nameParams = z.object({
  name: scheduleNameSchema.meta({ description: 'The schedule name: its jobs are sched:<name>:<fire time>.' }),
});
const scheduleNotFound = errorReply('`not_found`: no schedule of that name.', ['not_found']);

/** A route on one schedule that answers with it. */
const oneSchedule = (summary: string, extra: Partial<RouteDoc> = {}): RouteDoc => ({
  tag: 'schedules',
  summary,
  requestParams: { path: nameParams },
  responses: { '200': jsonReply('The schedule.', scheduleViewSchema), '404': scheduleNotFound },
  ...extra,
});

export interface ScheduleRoutesDeps {
  schedules: Schedules;
  maxBodyBytes: number;
  maxRetriesLimit: number;
}

/**
 * The cron schedules, each an actor of the schedule machine (`machines/schedule.machine.ts`).
 *
 * - `PUT /schedules/:name` `{cron, timezone?, type?, payload?, max_retries?, priority?, overlap?, catch_up?}`:
 *   201 with the schedule when new, 200 when it replaced one. 400 `validation_failed` naming the field (a bad
 *   cron expression or time zone too), `unknown_job_type`.
 * - `GET /schedules`: `{"schedules":[…]}` by name; `GET /schedules/:name`: the schedule, or 404 `not_found`.
 * - `POST /schedules/:name/pause`, `/resume`: 200 with the schedule.
 * - `DELETE /schedules/:name`: 204. The jobs it submitted stay.
 */
export function scheduleRoutes(router: Router, { schedules, maxBodyBytes, maxRetriesLimit }: ScheduleRoutesDeps): void {
  const specSchema = scheduleSpecSchema(maxRetriesLimit);
  const nameOf = (params: Record<string, string | undefined>) => validate(scheduleNameSchema, params.name, 'name');

  documentRoute(router, 'PUT /schedules/:name', {
    tag: 'schedules',
    summary: 'Create or replace a schedule.',
    requestParams: { path: nameParams },
    requestBody: { required: true, content: { 'application/json': { schema: specSchema } } },
    responses: {
      '200': jsonReply('Replaced.', scheduleViewSchema),
      '201': jsonReply('Created.', scheduleViewSchema),
      '400': errorReply(
        '`invalid_json`; `validation_failed` naming the field (a bad cron expression or time zone too); `unknown_job_type`.',
        ['invalid_json', 'validation_failed', 'unknown_job_type'],
      ),
      ...bodyRefusals,
    },
  });
  router.put('/schedules/:name', jsonBody(maxBodyBytes), async (ctx) => {
    const name = nameOf(ctx.params);
    const { schedule, created } = await schedules.put(name, validate(specSchema, ctx.request.body, 'body'));
    ctx.status = created ? 201 : 200;
    ctx.body = scheduleView(schedule);
  });
  documentRoute(router, 'GET /schedules', {
    tag: 'schedules',
    summary: 'Every schedule, by name.',
    responses: { '200': jsonReply('The schedules.', scheduleListSchema) },
  });
  router.get('/schedules', (ctx) => {
    ctx.body = { schedules: schedules.list().map(scheduleView) };
  });
  documentRoute(router, 'GET /schedules/:name', oneSchedule('A schedule, with its next fire time and its last job.'));
  router.get('/schedules/:name', (ctx) => {
    ctx.body = scheduleView(schedules.get(ctx.params.name!));
  });
  documentRoute(router, 'POST /schedules/:name/pause', oneSchedule('Pause a schedule: it fires nothing until resumed.'));
  router.post('/schedules/:name/pause', (ctx) => {
    ctx.body = scheduleView(schedules.pause(ctx.params.name!));
  });
  documentRoute(router, 'POST /schedules/:name/resume', oneSchedule('Resume a schedule from its next fire time.'));
  router.post('/schedules/:name/resume', (ctx) => {
    ctx.body = scheduleView(schedules.resume(ctx.params.name!));
  });
  documentRoute(
    router,
    'DELETE /schedules/:name',
    oneSchedule('Delete a schedule; the jobs it submitted stay.', {
      responses: { '204': { description: 'Deleted.' }, '404': scheduleNotFound },
    }),
  );
  router.delete('/schedules/:name', async (ctx) => {
    await schedules.delete(ctx.params.name!);
    ctx.status = 204;
  });
}
