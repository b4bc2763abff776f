import { DrizzleQueryError } from 'drizzle-orm';

/**
 * Drizzle puts a failed query's bound parameters into the error's message and stack. Parameters
 * hold user data (secret digests, and later emails and password hashes), so before an error is
 * logged or printed it is replaced by one that keeps the SQL text and the driver's cause only.
 */
export function withoutQueryParameters(error: unknown): unknown {
  if (!(error instanceof DrizzleQueryError)) return error;
  const safe = new Error(`Failed query: ${error.query}`, { cause: withoutQueryParameters(error.cause) });
  safe.name = 'DrizzleQueryError';
  safe.stack = [`${safe.name}: ${safe.message}`, ...(error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line))].join('\n');
  return safe;
}

/** PostgreSQL unique_violation (23505), wherever it sits in the cause chain. */
export function isUniqueViolation(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 8; depth += 1) {
    if ((current as { code?: unknown }).code === '23505') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
