import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiError, describeIssues, fieldName, invalidRequest, unsupportedMediaType } from '../errors.js';
import { mediaTypeOf } from './form.js';
import { refuseUnsafeText } from './middleware/input-text.js';

/**
 * Reads a JSON body against a strict zod schema: only `application/json`, valid JSON, no member
 * given twice (JSON.parse would keep the last one silently), no unknown member, and an error that
 * names each field at fault. Nothing is changed before this passes.
 */
export async function readJsonBody<Schema extends z.ZodType>(c: Context, schema: Schema): Promise<z.output<Schema>> {
  if (mediaTypeOf(c) !== 'application/json') throw unsupportedMediaType();
  const parsed = schema.safeParse(await readJson(c));
  if (!parsed.success) throw invalidRequest(describeIssues(parsed.error.issues));
  return parsed.data;
}

/**
 * Parses a JSON body: valid JSON, no member given twice, and no member name or string that holds
 * text no field accepts (NUL, unpaired surrogates). Every JSON body of the API is read here.
 */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  let body: unknown;
  try {
    body = JSON.parse(text, (name, value: unknown) => {
      refuseUnsafeText(name, ...(typeof value === 'string' ? [value] : []));
      return value;
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw invalidRequest('the request body is not valid JSON');
  }
  const repeated = firstRepeatedMember(text);
  if (repeated !== undefined) throw invalidRequest(`${fieldName(repeated)}: given more than once`);
  return body;
}

/**
 * The first object member name that appears twice in the same object of an already valid JSON
 * text. A scan of strings and brackets is enough because JSON.parse has accepted the text.
 */
export function firstRepeatedMember(text: string): string | undefined {
  const colonAhead = /\s*:/y;
  const objects: Array<Set<string> | undefined> = [];
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '{') objects.push(new Set());
    else if (char === '[') objects.push(undefined);
    else if (char === '}' || char === ']') objects.pop();
    else if (char === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const members = objects[objects.length - 1];
      // A string directly followed by a colon is a member name.
      colonAhead.lastIndex = end + 1;
      if (members && colonAhead.test(text)) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (members.has(name)) return name;
        members.add(name);
      }
      i = end;
    }
  }
  return undefined;
}
