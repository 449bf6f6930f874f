/**
 * `npm run token -- --name ci --scopes submit,read`: makes a new access token. The token is printed once, here,
 * and nowhere else; the service keeps only its hash, in the entry this prints for AUTH_TOKENS_FILE.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { SCOPES, newToken, sha256Hex, tokenEntrySchema, type Scope } from './tokens.js';

const USAGE = `usage: npm run token -- --name NAME --scopes SCOPE[,SCOPE...]\n  scopes: ${SCOPES.join(', ')}, or all\n`;

export interface TokenCommandResult {
  code: 0 | 2;
  stdout: string;
  stderr: string;
}

/** The command without the process: what it prints and its exit code. */
export function tokenCommand(args: string[], random: (size: number) => Buffer = randomBytes): TokenCommandResult {
  let values: { name?: string; scopes?: string };
  try {
    ({ values } = parseArgs({ args, options: { name: { type: 'string' }, scopes: { type: 'string' } }, strict: true }));
  } catch (error) {
    return { code: 2, stdout: '', stderr: `${(error as Error).message}\n${USAGE}` };
  }
  if (values.name === undefined || values.scopes === undefined) {
    return { code: 2, stdout: '', stderr: `both --name and --scopes are needed\n${USAGE}` };
  }
  const listed = values.scopes.split(',').map((scope) => scope.trim());
  const scopes = listed.length === 1 && listed[0] === 'all' ? [...SCOPES] : (listed as Scope[]);
  const token = newToken(random);
  const parsed = tokenEntrySchema.safeParse({ name: values.name, sha256: sha256Hex(token), scopes });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `--${String(issue.path[0])}: ${issue.message}`);
    return { code: 2, stdout: '', stderr: `${problems.join('\n')}\n${USAGE}` };
  }
  return {
    code: 0,
    stdout:
      `New token "${parsed.data.name}" (shown only now; the service keeps only its hash):\n\n  ${token}\n\n` +
      'Add this entry to the JSON list in the file AUTH_TOKENS_FILE names, then restart the service:\n\n' +
      `  ${JSON.stringify(parsed.data)}\n\n` +
      `Clients send it as: Authorization: Bearer ${token}\n`,
    stderr: '',
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = tokenCommand(process.argv.slice(2));
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exitCode = result.code;
}
