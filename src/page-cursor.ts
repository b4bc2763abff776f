import { invalidRequest } from './errors.js';

/**
 * The opaque `cursor` of the paged admin lists: where a page ends, as the time column as
 * PostgreSQL prints it (full microseconds) and the id. Read by the routes, written by the stores
 * (db/keyset-page.ts).
 */
export interface Cursor {
  at: string;
  id: string;
}

const TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d(:\d\d)?$/;
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
  if (typeof at !== 'string' || !TIMESTAMP.test(at) || typeof id !== 'string' || !idPattern.test(id)) throw invalidCursor();
  return { at, id };
}
