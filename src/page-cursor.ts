import { invalidRequest } from './errors.js';
import { isRealMoment } from './instant.js';

/**
 * The opaque `cursor` of the paged admin lists: where a page ends, as the time column as
 * PostgreSQL prints it (full microseconds) and the id. Read by the routes, written by the stores
 * (db/keyset-page.ts).
 */
export interface Cursor {
  at: string;
  id: string;
}

/** `timestamptz::text`: a date, a time with up to microseconds, and an offset in hours (and minutes). */
const TIMESTAMP = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d{1,6})?([+-])(\d\d)(?::(\d\d))?$/;
const invalidCursor = () => invalidRequest('cursor: not a cursor this API returned');

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.id])).toString('base64url');
}

/** An opaque cursor back to its parts, refusing anything this API could not have made. */
export function decodeCursor(text: string, idPattern: RegExp): Cursor {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(parts) || parts.length !== 2) throw invalidCursor();
  const [at, id] = parts as unknown[];
  if (typeof at !== 'string' || !isRealTimestamp(at) || typeof id !== 'string' || !idPattern.test(id)) throw invalidCursor();
  return { at, id };
}

/** A timestamp PostgreSQL could have printed: a real moment (instant.ts), with an offset of at most 15:59. */
function isRealTimestamp(text: string): boolean {
  const match = TIMESTAMP.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const [offsetHours, offsetMinutes] = [Number(match[9]), Number(match[10] ?? 0)];
  return isRealMoment({ year, month, day, hour, minute, second }) && offsetHours <= 15 && offsetMinutes <= 59;
}
