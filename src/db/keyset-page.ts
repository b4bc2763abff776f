import { and, eq, gt, lt, or, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { encodeCursor, type Cursor } from '../page-cursor.js';

export interface PageRequest {
  limit: number;
  cursor?: Cursor;
}

export interface Page<T> {
  items: T[];
  /** Pass it back as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
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
export function pageOf<Row extends { cursorAt: string }, T>(
  rows: Row[],
  limit: number,
  idOf: (row: Row) => string,
  shape: (row: Row) => T,
): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map(shape),
    nextCursor: rows.length > limit && last ? encodeCursor({ at: last.cursorAt, id: idOf(last) }) : null,
  };
}
