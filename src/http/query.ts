import type { Context } from 'hono';
import { z } from 'zod';
import { describeIssues, fieldName, invalidRequest } from '../errors.js';

/**
 * Reads the query string against a strict zod schema: no parameter twice, no unknown parameter,
 * and errors that name the parameter. (Only for listings: credentials never travel in a URL.)
 */
export function readQuery<Schema extends z.ZodType>(c: Context, schema: Schema): z.output<Schema> {
  const values: Record<string, string> = {};
  for (const [name, list] of Object.entries(c.req.queries())) {
    if (list.length > 1) throw invalidRequest(`${fieldName(name)}: given more than once`);
    values[name] = list[0]!;
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) throw invalidRequest(describeIssues(parsed.error.issues));
  return parsed.data;
}

/** `limit` (1 to 200, default 50) and `cursor` (from the previous page's `next_cursor`). */
export const pageParameters = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(512).optional(),
};

export const booleanParameter = z.enum(['true', 'false']).transform((value) => value === 'true');
