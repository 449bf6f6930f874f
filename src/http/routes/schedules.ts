import type Router from '@koa/router';
import type { Schedules } from '../../engine/schedules.js';
import { jsonBody } from '../json-body.js';
import { scheduleNameSchema, scheduleSpecSchema, scheduleView } from '../schedule-schemas.js';
import { validate } from '../validate.js';

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

  router.put('/schedules/:name', jsonBody(maxBodyBytes), async (ctx) => {
    const name = nameOf(ctx.params);
    const { schedule, created } = await schedules.put(name, validate(specSchema, ctx.request.body, 'body'));
    ctx.status = created ? 201 : 200;
    ctx.body = scheduleView(schedule);
  });
  router.get('/schedules', (ctx) => {
    ctx.body = { schedules: schedules.list().map(scheduleView) };
  });
  router.get('/schedules/:name', (ctx) => {
    ctx.body = scheduleView(schedules.get(ctx.params.name!));
  });
  router.post('/schedules/:name/pause', (ctx) => {
    ctx.body = scheduleView(schedules.pause(ctx.params.name!));
  });
  router.post('/schedules/:name/resume', (ctx) => {
    ctx.body = scheduleView(schedules.resume(ctx.params.name!));
  });
  router.delete('/schedules/:name', async (ctx) => {
    await schedules.delete(ctx.params.name!);
    ctx.status = 204;
  });
}
