/** The shapes of the `/schedules` routes: what `PUT /schedules/:name` accepts, and a schedule's view. */
import { z } from 'zod';
import type { ScheduleState } from '../engine/schedules.js';
import { jobTypeNameSchema } from '../job-types/job-type.js';
import { isoOrNull, iso } from './job-view.js';
import { maxRetriesSchema, objectIssue, payloadSchema, prioritySchema } from './schemas.js';

const allowed = ['cron', 'timezone', 'type', 'payload', 'max_retries', 'priority', 'overlap', 'catch_up'];

/** A schedule's name: what its jobs' ids carry (`sched:<name>:<time>`). */
export const scheduleNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, { error: 'Must be 1–64 characters: a–z, 0–9, ".", "_" or "-", starting with a letter or digit.' });

/** The body of `PUT /schedules/:name`. `maxRetriesLimit` is MAX_RETRIES_LIMIT. */
export function scheduleSpecSchema(maxRetriesLimit: number) {
  return z.strictObject(
    {
      cron: z.string({ error: 'Must be a cron expression (a string).' }),
      timezone: z.string({ error: 'Must be an IANA time zone name.' }).default('UTC'),
      type: jobTypeNameSchema.optional(),
      payload: payloadSchema,
      max_retries: maxRetriesSchema(maxRetriesLimit).optional(),
      priority: prioritySchema.default(0),
      overlap: z.enum(['skip', 'allow'], { error: 'Must be skip or allow.' }).default('skip'),
      catch_up: z.enum(['none', 'latest', 'all'], { error: 'Must be none, latest or all.' }).default('latest'),
    },
    { error: objectIssue(allowed) },
  );
}

const time = z.iso.datetime();

/** A schedule as the API shows it. */
export const scheduleViewSchema = z.strictObject({
  name: z.string(),
  state: z.enum(['active', 'paused']),
  cron: z.string(),
  timezone: z.string(),
  type: z.string().nullable().meta({ description: "The jobs' type; null: the default type." }),
  payload: z.unknown(),
  max_retries: z.int().nullable().meta({ description: "null: the type's default." }),
  priority: z.int(),
  overlap: z.enum(['skip', 'allow']),
  catch_up: z.enum(['none', 'latest', 'all']),
  next_fire_times: z.array(time).meta({ description: 'The next fire times, soonest first (none while paused).' }),
  last_fire_at: time.nullable(),
  last_job_id: z.string().nullable().meta({ description: 'The job of the latest fire that submitted one.' }),
});

export const scheduleListSchema = z.strictObject({ schedules: z.array(scheduleViewSchema) });

export function scheduleView(schedule: ScheduleState): z.output<typeof scheduleViewSchema> {
  const { spec } = schedule;
  return {
    name: schedule.name,
    state: schedule.state,
    cron: spec.cron,
    timezone: spec.timezone,
    type: spec.type ?? null,
    payload: spec.payload,
    max_retries: spec.max_retries ?? null,
    priority: spec.priority,
    overlap: spec.overlap,
    catch_up: spec.catch_up,
    next_fire_times: schedule.next_fire_times.map(iso),
    last_fire_at: isoOrNull(schedule.last_fire_at),
    last_job_id: schedule.last_job_id,
  };
}
