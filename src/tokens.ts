/**
 * Access tokens: the scopes a token may hold, how a token is made, and the shape of the AUTH_TOKENS_FILE.
 *
 * The service keeps only a SHA-256 hash of each token, so the tokens file (or a dump of the config) does not
 * give access by itself. A token carries 256 random bits, so a plain fast hash is enough: there is no word
 * list to try against it, which is what a slow, salted password hash would defend against.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** What a token may do; the route table in `src/http/access.ts` says which scope each route needs. */
export const SCOPES = ['submit', 'read', 'operate', 'debug', 'metrics'] as const;
export type Scope = (typeof SCOPES)[number];

export interface AccessToken {
  /** Shown in log lines and 403 answers in place of the token. */
  name: string;
  /** The token's SHA-256, 64 lowercase hex digits. */
  sha256: string;
  scopes: readonly Scope[];
}

/** Makes tokens recognisable in a secret scanner or a leaked log, without weakening them. */
export const TOKEN_PREFIX = 'jst_';

/** A new token: the prefix and 32 random bytes, base64url (no character that needs escaping in a header). */
export function newToken(random: (size: number) => Buffer = randomBytes): string {
  return TOKEN_PREFIX + random(32).toString('base64url');
}

export const sha256Hex = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

export const tokenNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit');

const scopeSchema = z.enum(SCOPES, { error: `expected one of ${SCOPES.join(', ')}` });

/** One entry of AUTH_TOKENS_FILE, as `npm run token` prints it. */
export const tokenEntrySchema = z.strictObject({
  name: tokenNameSchema,
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex digits: the SHA-256 of the token, as `npm run token` prints it')
    .transform((hex) => hex.toLowerCase()),
  scopes: z.array(scopeSchema).min(1, 'expected at least one scope'),
});

/**
 * AUTH_TOKENS_FILE: a JSON list of entries. An empty list is refused: it would leave the service as open as no
 * file at all, which is more likely a mistake than the intent.
 */
export const tokensFileSchema = z
  .array(tokenEntrySchema)
  .min(1, 'expected at least one token')
  .superRefine((entries, ctx) => {
    const names = new Set<string>();
    const hashes = new Set<string>();
    entries.forEach((entry, index) => {
      if (names.has(entry.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `"${entry.name}" is listed twice` });
      if (hashes.has(entry.sha256)) ctx.addIssue({ code: 'custom', path: [index, 'sha256'], message: 'the same hash is listed twice' });
      names.add(entry.name);
      hashes.add(entry.sha256);
    });
  });

/**
 * Finds the token a client presented. Every configured hash is compared, in constant time and without an early
 * exit, so the answer's timing tells nothing about how close a guess came or which entry matched.
 */
export function tokenMatcher(tokens: readonly AccessToken[]): (presented: string) => AccessToken | undefined {
  const hashes = tokens.map((token) => Buffer.from(token.sha256, 'hex'));
  return (presented) => {
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let found: AccessToken | undefined;
    hashes.forEach((hash, index) => {
      if (timingSafeEqual(digest, hash) && found === undefined) found = tokens[index];
    });
    return found;
  };
}
