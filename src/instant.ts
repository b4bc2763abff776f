import { z } from 'zod';

/**
 * The moments the API and the CLI accept: a real date and time within the years 1 to 9999.
 * PostgreSQL has no year 0 (ISO 8601 and JavaScript do) and refuses out-of-range fields with an
 * error that would otherwise surface as a 500; a caller's mistake is a 400 instead.
 */
const FIRST_YEAR = 1;
const LAST_YEAR = 9999;

export interface CalendarFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Whether the fields name a real moment: a month of the year, a day that month has, a time of day. */
export function isRealMoment({ year, month, day, hour, minute, second }: CalendarFields): boolean {
  if (year < FIRST_YEAR || year > LAST_YEAR || month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const ISO_FIELDS = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/;

/** An ISO 8601 date-time with an offset (RFC 3339), such as 2026-01-31T12:00:00Z, as a Date. */
export const instant = z.iso
  .datetime({ offset: true, error: 'an ISO 8601 date-time such as 2026-01-31T12:00:00Z' })
  .refine((value) => {
    // Zod runs this after a failed format check too; that check has said what is wrong then.
    const match = ISO_FIELDS.exec(value);
    if (!match) return true;
    const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number];
    return isRealMoment({ year, month, day, hour, minute, second });
  }, `a date-time between the years ${FIRST_YEAR} and ${LAST_YEAR}`)
  .transform((value) => new Date(value));
