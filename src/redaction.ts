/**
 * Drizzle puts a failed query's bound parameters into the error's message and stack
 * (DrizzleQueryError: `query` and `params`). Parameters hold user data (secret digests, emails,
 * password hashes), so before such an error is logged or printed it is replaced by one that keeps
 * the SQL text and the driver's cause only. Recognised by its shape, so that the logger, used by
 * every layer, depends on no database code.
 */
export function withoutQueryParameters(error: unknown): unknown {
  if (!(error instanceof Error) || !('query' in error) || !('params' in error)) return error;
  const safe = new Error(`Failed query: ${String(error.query)}`, { cause: withoutQueryParameters(error.cause) });
  safe.name = 'DrizzleQueryError';
  safe.stack = [`${safe.name}: ${safe.message}`, ...(error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line))].join('\n');
  return safe;
}
