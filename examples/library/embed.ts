/**
 * The service embedded in a program: a job type defined in code, its payload type checked at `submit`, the HTTP
 * API served beside it. Run from the repository: `npx tsx --conditions=xstate-job-service-source
 * examples/library/embed.ts` (a program that installed the package just runs it).
 */
import { createJobService, PermanentError } from 'xstate-job-service';

const jobs = await createJobService({
  types: {
    welcome: {
      // The payload's type, here, is what `submit` accepts for this job type.
      handler: async (payload: { email: string; name: string }, ctx) => {
        if (!payload.email.includes('@')) throw new PermanentError(`not an address: ${payload.email}`);
        ctx.progress({ step: 'rendering' });
        return { sent_to: payload.email, subject: `Welcome, ${payload.name}` };
      },
      options: { max_retries: 5, timeout_ms: 10_000 },
    },
  },
  http: { port: 8080 },
});

jobs.on('transition', (t) => console.log(`${t.id}: ${t.from ?? 'new'} → ${t.to} (${t.event})`));
await jobs.submit('welcome', { email: 'ada@example.com', name: 'Ada' }, { id: 'welcome-ada' });
const done = await jobs.settled('welcome-ada');
console.log('result:', JSON.stringify(done.result));
const view = await (await fetch(`${jobs.url}/jobs/welcome-ada`)).json();
console.log(`GET ${jobs.url}/jobs/welcome-ada →`, JSON.stringify(view));
await jobs.close();
