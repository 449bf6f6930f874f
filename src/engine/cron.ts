/**
 * Cron expressions, parsed by croner: maintained, dependency-free, and it defines time zones and DST (a fire
 * time that a spring-forward skips runs at the first valid minute after it; a time that a fall-back repeats
 * runs once, at its first occurrence).
 */
import { Cron } from 'croner';
import { errors } from '../errors.js';

/** A parsed expression in its time zone, which only computes fire times (it never runs anything itself). */
export interface CronSchedule {
  /** The first fire time strictly after `after` (epoch ms), or null when there is none. */
  nextAfter(after: number): number | null;
}

const FIELDS = 'Must be a cron expression of 5 fields (minute hour day month weekday) or 6 (with seconds first).';

/** Parses `cron` in `timezone` (IANA; default UTC). Throws `validation_failed` naming the field. */
export function parseCron(cron: string, timezone = 'UTC'): CronSchedule {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw errors.validationFailed({ timezone: [`Unknown time zone ${JSON.stringify(timezone)}; use an IANA name, e.g. Europe/Berlin.`] });
  }
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) throw errors.validationFailed({ cron: [FIELDS] });
  let parsed: Cron;
  try {
    parsed = new Cron(cron, { timezone, paused: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    throw errors.validationFailed({ cron: [`Not a valid cron expression: ${reason}`] });
  }
  return {
    nextAfter(after) {
      return parsed.nextRun(new Date(after))?.getTime() ?? null;
    },
  };
}
