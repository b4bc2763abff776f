import { and, eq, gt, lt, or, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { invalidRequest } from '../errors.js';

/** Where a page ends: the time column as PostgreSQL prints it (full microseconds) and the id. */
export interface Cursor {
  at: string;
  id: string;
}

export interface PageRequest {
  limit: number;
  cursor?: Cursor;
}

export interface Page<T> {
  items: T[];
  /** Pass it back as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
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

/**
 * Keyset pagination (no OFFSET): rows strictly after the cursor in (time, id) order. Stable while
 * rows are added, and as fast on page 1,000 as on page 1.
 */
export function afterCursor(time: AnyColumn, id: AnyColumn, cursor: Cursor | undefined, order: 'asc' | 'desc'): SQL | undefined {
  if (!cursor) return undefined;
  const beyond = order === 'asc' ? gt : lt;
  const at = sql`${cursor.at}::timestamptz`;
  return or(beyond(time, at), and(eq(time, at), beyond(id, cursor.id)));
}

/** The time column as text, for the cursor. */
export const cursorTime = (time: AnyColumn) => sql<string>`${time}::text`;

/** Rows fetched with limit + 1: the extra one only says there is a next page. */
export function pageOf<Row extends { cursorAt: string }, T>(rows: Row[], limit: number, idOf: (row: Row) => string, shape: (row: Row) => T): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map(shape),
    nextCursor: rows.length > limit && last ? encodeCursor({ at: last.cursorAt, id: idOf(last) }) : null,
  };
}
